package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The tests in this file check the generated code (fields_gen.go) against
// the reflective reference (reference_test.go) that reads the same struct
// tags at run time: the field table, and every conversion on records built
// from random or fuzzed bytes with every field set or unset.

// TestFieldTable: the generated table is the one the tags declare; a field
// added to Record without go generate fails here.
func TestFieldTable(t *testing.T) {
	if len(fields) != len(refFields) {
		t.Fatalf("fields_gen.go has %d fields, the Record struct %d: run go generate", len(fields), len(refFields))
	}
	for i, f := range refFields {
		if fields[i] != f.field {
			t.Errorf("field %d: generated %+v, tags say %+v: run go generate", i, fields[i], f.field)
		}
	}
}

// byteSource builds values from a byte string: fuzzed bytes, or random
// bytes in TestAgreesWithReference. Exhausted, it yields zeros.
type byteSource struct{ b []byte }

func (s *byteSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = s.byte()
	}
	return binary.BigEndian.Uint64(b[:])
}

func (s *byteSource) bytes(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = s.byte()
	}
	return out
}

// multibyte cycles through runes of 1 to 4 bytes, so that a cut at a cap
// falls inside a rune as often as not.
const multibyte = "aé✓🙂"

// str returns a string for a field capped at max bytes: raw bytes (often
// invalid UTF-8), multi-byte text, or text within a few bytes of the cap.
func (s *byteSource) str(max int) string {
	switch s.byte() % 8 {
	case 0:
		return ""
	case 1, 2, 3:
		return string(s.bytes(int(s.byte() % 48)))
	case 4, 5: // text, cut anywhere: sometimes inside a rune
		text := strings.Repeat(multibyte, 6)
		return text[:int(s.byte())%(len(text)+1)]
	case 6:
		if max > 1<<16 {
			return strings.Repeat("x", int(s.byte()))
		}
		n := max - 4 + int(s.byte()%9) // max-4 .. max+4
		return strings.Repeat(multibyte, n/len(multibyte)+1)[:n]
	default:
		return "4bf92f3577b34da6a3ce929d0e0e4736"[:2*int(s.byte()%17)]
	}
}

// recordFromBytes builds a record from data: each field in canonical order
// is set or left zero, and set to a value drawn from data.
func recordFromBytes(data []byte) Record {
	s := &byteSource{data}
	var r Record
	for _, f := range refFields {
		if s.byte()%2 == 0 {
			continue
		}
		fv := f.value(&r)
		switch f.kind {
		case kindString:
			fv.SetString(s.str(f.max))
		case kindInt64:
			fv.SetInt(int64(s.uint64()))
		case kindUint64:
			n := s.uint64()
			if fv.Kind() == reflect.Uint32 {
				n = uint64(uint32(n))
			}
			fv.SetUint(n)
		case kindInt64Ptr:
			n := int64(s.uint64())
			fv.Set(reflect.ValueOf(&n))
		case kindFloat64Ptr:
			x := math.Float64frombits(s.uint64())
			fv.Set(reflect.ValueOf(&x))
		case kindStrings:
			list := make([]string, int(s.byte())%(f.maxLen+8))
			for i := range list {
				list[i] = s.str(f.max)
			}
			fv.Set(reflect.ValueOf(list))
		case kindBytes:
			fv.SetBytes(s.bytes(int(s.byte() % 40)))
		}
	}
	return r
}

// deepCopy copies r's lists and pointers, so that a mutation of the copy
// shows in no other record.
func deepCopy(r Record) Record {
	c := r
	c.FinishReasons, c.Flags, c.LeafHash = slices.Clone(r.FinishReasons), slices.Clone(r.Flags), slices.Clone(r.LeafHash)
	if r.InputTokens != nil {
		n := *r.InputTokens
		c.InputTokens = &n
	}
	if r.OutputTokens != nil {
		n := *r.OutputTokens
		c.OutputTokens = &n
	}
	if r.Score != nil {
		x := *r.Score
		c.Score = &x
	}
	return c
}

// sameRecord compares records bit for bit: their canonical encodings
// (which hold every encoded field, floats by their bits, so NaN equals
// itself), leaf hashes, and which lists are nil.
func sameRecord(a, b *Record) bool {
	return bytes.Equal(refAppendCanonical(a, nil), refAppendCanonical(b, nil)) &&
		bytes.Equal(a.LeafHash, b.LeafHash) && (a.LeafHash == nil) == (b.LeafHash == nil) &&
		(a.FinishReasons == nil) == (b.FinishReasons == nil) && (a.Flags == nil) == (b.Flags == nil)
}

// sameAttrs compares attribute maps key by key in order, doubles by bits.
func sameAttrs(a, b pcommon.Map) error {
	if a.Len() != b.Len() {
		return fmt.Errorf("%d attributes, reference %d", a.Len(), b.Len())
	}
	var ka, kb []string
	var va, vb []pcommon.Value
	for k, v := range a.All() {
		ka, va = append(ka, k), append(va, v)
	}
	for k, v := range b.All() {
		kb, vb = append(kb, k), append(vb, v)
	}
	for i := range ka {
		if ka[i] != kb[i] {
			return fmt.Errorf("attribute %d is %s, reference %s", i, ka[i], kb[i])
		}
		x, y := va[i], vb[i]
		if x.Type() == pcommon.ValueTypeDouble && y.Type() == pcommon.ValueTypeDouble {
			if math.Float64bits(x.Double()) != math.Float64bits(y.Double()) {
				return fmt.Errorf("%s: %v, reference %v", ka[i], x.Double(), y.Double())
			}
			continue
		}
		if !x.Equal(y) {
			return fmt.Errorf("%s: %v, reference %v", ka[i], x.AsRaw(), y.AsRaw())
		}
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkAgainstReference checks every generated conversion of r against the
// reflective reference.
func checkAgainstReference(t *testing.T, r Record) {
	t.Helper()
	want := refAppendCanonical(&r, nil)
	if got := r.AppendCanonical([]byte("prefix")); !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
		t.Fatalf("canonical\n got %x\nwant %x\nrecord %+v", got[6:], want, r)
	}
	sum := sha256.Sum256(append([]byte{0}, want...))
	if got := r.ComputeLeafHash(); !bytes.Equal(got, sum[:]) {
		t.Fatalf("leaf hash %x, want %x", got, sum)
	}

	// Record -> pdata: the same attributes, in the same order.
	lr, ref := plog.NewLogRecord(), plog.NewLogRecord()
	lr.Attributes().PutStr("other", "kept out")
	r.ToLogRecord(lr)
	refPutAttrs(&r, ref.Attributes())
	if err := sameAttrs(lr.Attributes(), ref.Attributes()); err != nil {
		t.Fatalf("ToLogRecord: %v", err)
	}
	if n := r.attrCount(); n != ref.Attributes().Len() {
		t.Fatalf("attrCount %d, reference writes %d attributes", n, ref.Attributes().Len())
	}
	// pdata -> Record: the same record, and the one that was written.
	got, err := FromLogRecord(lr)
	refGot, refErr := refFromLogRecord(lr)
	if errText(err) != errText(refErr) {
		t.Fatalf("FromLogRecord error %q, reference %q", errText(err), errText(refErr))
	}
	norm := deepCopy(r)
	norm.Normalize()
	if !sameRecord(&got, &refGot) || !sameRecord(&got, &norm) {
		t.Fatalf("FromLogRecord\n got %+v\nref %+v\nwant %+v", got, refGot, norm)
	}

	// Caps: the same cuts and flags; the caller's lists are not written through.
	a, b := deepCopy(r), deepCopy(r)
	before := deepCopy(r)
	if cut, refCut := a.ApplyCaps(), refApplyCaps(&b); cut != refCut || !sameRecord(&a, &b) {
		t.Fatalf("ApplyCaps %v, reference %v\n got %+v\nwant %+v", cut, refCut, a, b)
	}
	if !sameRecord(&r, &before) {
		t.Fatal("ApplyCaps wrote through the record's lists")
	}

	// Validate: the same UTF-8 errors, in the same order.
	var refTexts []string
	for _, e := range refUTF8Errors(&r) {
		refTexts = append(refTexts, e.Error())
	}
	var texts []string
	for _, e := range r.appendUTF8Errors(nil) {
		texts = append(texts, e.Error())
	}
	if !slices.Equal(texts, refTexts) {
		t.Fatalf("UTF-8 errors %q, reference %q", texts, refTexts)
	}
}

// TestAgreesWithReference: random records, every field set or unset at
// random, some values at their caps, invalid UTF-8, NaN and -0.
func TestAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	n := 3000
	if testing.Short() || raceEnabled { // the race detector makes each record ~20× slower
		n = 300
	}
	for i := 0; i < n; i++ {
		data := make([]byte, 256+rng.IntN(4096))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		checkAgainstReference(t, recordFromBytes(data))
	}
}

// TestEveryFieldSetUnset: each field alone, and the full record without it.
func TestEveryFieldSetUnset(t *testing.T) {
	for _, f := range refFields {
		only := Record{}
		f.value(&only).Set(f.value(&[]Record{full()}[0]))
		if f.name == "leaf_hash" {
			f.value(&only).SetBytes([]byte{1, 2, 3})
		}
		if f.name == "error_type" || f.name == "checkpoint" { // empty in full()
			f.value(&only).SetString("x")
		}
		checkAgainstReference(t, only)
		all := full()
		f.value(&all).SetZero()
		checkAgainstReference(t, all)
	}
}

// TestFromLogRecordErrorsAgree: every field given an attribute of each
// wrong type gets the reference's error, which names the attribute.
func TestFromLogRecordErrorsAgree(t *testing.T) {
	wrong := map[string]func(pcommon.Map, string){
		"str":    func(m pcommon.Map, k string) { m.PutStr(k, "s") },
		"int":    func(m pcommon.Map, k string) { m.PutInt(k, -1) },
		"double": func(m pcommon.Map, k string) { m.PutDouble(k, 1.5) },
		"bool":   func(m pcommon.Map, k string) { m.PutBool(k, true) },
		"bytes":  func(m pcommon.Map, k string) { m.PutEmptyBytes(k).FromRaw([]byte{1}) },
		"map":    func(m pcommon.Map, k string) { m.PutEmptyMap(k).PutStr("a", "b") },
		"slice":  func(m pcommon.Map, k string) { m.PutEmptySlice(k).AppendEmpty().SetStr("a") },
		"slice of int": func(m pcommon.Map, k string) {
			s := m.PutEmptySlice(k)
			s.AppendEmpty().SetStr("a")
			s.AppendEmpty().SetInt(1)
		},
		"empty slice": func(m pcommon.Map, k string) { m.PutEmptySlice(k) },
	}
	r := full()
	r.SetLeaf(r.Origin, r.Epoch, r.LeafIndex)
	for _, f := range refFields {
		for name, put := range wrong {
			lr := plog.NewLogRecord()
			r.ToLogRecord(lr)
			put(lr.Attributes(), f.attr)
			got, err := FromLogRecord(lr)
			want, refErr := refFromLogRecord(lr)
			if errText(err) != errText(refErr) {
				t.Errorf("%s as %s: error %q, reference %q", f.attr, name, errText(err), errText(refErr))
			}
			if err != nil && !strings.Contains(err.Error(), f.attr) {
				t.Errorf("%s as %s: error %q does not name the attribute", f.attr, name, err)
			}
			if err == nil && !sameRecord(&got, &want) {
				t.Errorf("%s as %s: decoded %+v, reference %+v", f.attr, name, got, want)
			}
		}
	}
	lr := plog.NewLogRecord()
	r.ToLogRecord(lr)
	lr.Attributes().PutInt(AttributePrefix+"schema_version", math.MaxUint32+1)
	if _, err := FromLogRecord(lr); errText(err) != "attribute govaudit.schema_version: 4294967296 overflows uint32" {
		t.Errorf("schema_version overflow: %v", err)
	}
}

// FuzzCanonical: records built from fuzzed bytes encode, map to pdata and
// back, cap and validate exactly as the reflective reference does.
func FuzzCanonical(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{1}, 600))
	f.Add(bytes.Repeat([]byte{0xff, 0x07, 0x06, 0x81}, 400))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 8; i++ {
		data := make([]byte, 1024)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstReference(t, recordFromBytes(data))
	})
}
