package archive

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/govaudit/govaudit/internal/record"
)

// variedRows returns rows that exercise every kind of column: content that
// spans many pages, lists (empty, one, several, empty strings), optional
// values (nil, zero, negative), non-ASCII text and checkpoint rows.
func variedRows(t testing.TB) []record.Record {
	rows := sealed(t.(*testing.T), 7, 0, 300)
	for i := range rows {
		r := &rows[i]
		switch i % 7 {
		case 0:
			r.FinishReasons = []string{"stop"}
		case 1:
			r.FinishReasons = []string{"stop", "", "length"}
			r.Flags = []string{"truncated", "truncated:input"}
		case 2:
			in, out := int64(0), int64(-3)
			r.InputTokens, r.OutputTokens = &in, &out
		case 3:
			s := math.Copysign(0, -1)
			r.Score = &s
			r.Input = strings.Repeat("déjà vu ", 700+i) // several KB: pages of a few rows
		case 4:
			s := 0.25
			r.Score = &s
			r.ModelVersion = fmt.Sprintf("v%d", i%5)
		case 5:
			r.Output = "日本語の出力 " + fmt.Sprint(i)
		}
		r.SetLeaf(r.Origin, r.Epoch, r.LeafIndex)
	}
	return rows
}

// writeWith writes rows with parquet-go and the given options.
func writeWith(t testing.TB, rows []record.Record, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[record.Record](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fieldOf returns the struct field of record.Record whose parquet column
// is name (the test's own mapping, to compare with parquet-go's reader).
func fieldOf(t testing.TB, name string) int {
	rt := reflect.TypeOf(record.Record{})
	for i := range rt.NumField() {
		if n, _, _ := strings.Cut(rt.Field(i).Tag.Get("parquet"), ","); n == name {
			return i
		}
	}
	t.Fatalf("no field for column %s", name)
	return -1
}

// TestColumnsMatchRows: reading a file column by column, in batches of
// rows, gives every value parquet-go's row reader gives, whatever the
// writer options (pages of 4 KiB, several row groups, other compression).
func TestColumnsMatchRows(t *testing.T) {
	rows := variedRows(t)
	files := map[string][]byte{
		"writer":      encode(t, rows),
		"small-pages": writeWith(t, rows, parquet.Compression(&zstd.Codec{Level: zstd.SpeedBestCompression}), parquet.PageBufferSize(4<<10)),
		"row-groups":  writeWith(t, rows, append(record.WriterOptions(), parquet.MaxRowsPerRowGroup(64))...),
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			want, err := DecodeFile(name, data)
			if err != nil {
				t.Fatal(err)
			}
			f, err := OpenDataBytes(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if f.NumRows() != int64(len(want)) {
				t.Fatalf("NumRows %d, want %d", f.NumRows(), len(want))
			}
			for _, col := range record.Columns() {
				c, err := f.Column(col)
				if err != nil {
					t.Fatal(err)
				}
				fi := fieldOf(t, col)
				var v ColumnValues
				for r0 := 0; r0 < len(want); r0 += 37 {
					n := min(37, len(want)-r0)
					if err := c.ReadRows(n, &v); err != nil {
						t.Fatalf("%s rows %d+%d: %v", col, r0, n, err)
					}
					for i := range n {
						got := columnValue(&v, i, reflect.TypeOf(record.Record{}).Field(fi).Type)
						exp := reflect.ValueOf(want[r0+i]).Field(fi).Interface()
						if !reflect.DeepEqual(got, exp) {
							t.Fatalf("row %d column %s: %#v, parquet-go reads %#v", r0+i, col, got, exp)
						}
					}
				}
				if err := c.ReadRows(1, &v); !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s: reading past the last row: %v, want ErrCorrupt", col, err)
				}
			}
		})
	}
}

// columnValue converts row i's values in v to the Go type of the field.
func columnValue(v *ColumnValues, i int, typ reflect.Type) any {
	a, b := v.Rows[i], v.Rows[i+1]
	switch typ {
	case reflect.TypeOf(""):
		return string(v.Str(a))
	case reflect.TypeOf(record.Type("")):
		return record.Type(v.Str(a))
	case reflect.TypeOf([]byte(nil)):
		if s := v.Str(a); len(s) > 0 {
			return bytes.Clone(s)
		}
		return []byte(nil)
	case reflect.TypeOf(int64(0)):
		return v.Int64[a]
	case reflect.TypeOf(uint64(0)):
		return uint64(v.Int64[a])
	case reflect.TypeOf(uint32(0)):
		return uint32(v.Int32[a])
	case reflect.TypeOf((*int64)(nil)):
		if a == b {
			return (*int64)(nil)
		}
		x := v.Int64[a]
		return &x
	case reflect.TypeOf((*float64)(nil)):
		if a == b {
			return (*float64)(nil)
		}
		x := v.Double[a]
		return &x
	case reflect.TypeOf([]string(nil)):
		var out []string
		for k := a; k < b; k++ {
			out = append(out, string(v.Str(k)))
		}
		return out
	}
	panic(typ)
}

// TestColumnsSkipRows: skipping to a row reads the same values as reading
// every row before it, and skips whole pages without decoding them.
func TestColumnsSkipRows(t *testing.T) {
	rows := variedRows(t)
	data := writeWith(t, rows, parquet.Compression(&zstd.Codec{}), parquet.PageBufferSize(2<<10))
	f, err := OpenDataBytes("f", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []int{0, 1, 150, 299} {
		for _, col := range []string{"record_id", "input", "finish_reasons", "score"} {
			c, _ := f.Column(col)
			if err := c.SkipRows(row); err != nil {
				t.Fatal(err)
			}
			var v ColumnValues
			if err := c.ReadRows(1, &v); err != nil {
				t.Fatal(err)
			}
			fi := fieldOf(t, col)
			got := columnValue(&v, 0, reflect.TypeOf(record.Record{}).Field(fi).Type)
			if exp := reflect.ValueOf(rows[row]).Field(fi).Interface(); !reflect.DeepEqual(got, exp) && !(col == "finish_reasons" && got == nil) {
				t.Errorf("row %d %s after SkipRows: %#v, want %#v", row, col, got, exp)
			}
		}
	}
}

// TestColumnsHostile: every crafted file of the bounds corpus is refused
// with ErrCorrupt naming the file, by opening it or by reading its
// columns, allocating little.
func TestColumnsHostile(t *testing.T) {
	rows := sealed(t, 7, 0, 40)
	rows[2].Flags = []string{"truncated"}
	data := encode(t, rows)
	for name, b := range hostile(t, data) {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := readAllColumns("f.parquet", b)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "f.parquet") {
				t.Fatalf("reading its columns = %v, want an error wrapping ErrCorrupt naming the file", err)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 64<<20 {
				t.Errorf("refusing it allocated %d bytes", a)
			}
		})
	}
}

func readAllColumns(name string, b []byte) error {
	f, err := OpenDataBytes(name, b)
	if err != nil {
		return err
	}
	return readColumns(f)
}

// TestMayContain: parquet-go's bloom filters answer for every id in the
// file, and rule out nearly every other one.
func TestMayContain(t *testing.T) {
	rows := sealed(t, 7, 0, 2000)
	data := encode(t, rows)
	f, err := OpenDataBytes("f", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !f.MayContain("record_id", r.ID) || !f.MayContain("trace_id", r.TraceID) {
			t.Fatalf("record %s: bloom filter says absent", r.ID)
		}
	}
	fp := 0
	for i := range 10000 {
		if f.MayContain("record_id", fmt.Sprintf("absent-%d", i)) {
			fp++
		}
	}
	if fp > 300 { // about 1% expected at 10 bits a value
		t.Errorf("%d of 10000 absent ids may be present", fp)
	}
	// A column without a filter never rules a value out.
	if !f.MayContain("provider", "nobody") {
		t.Error("provider has no bloom filter but MayContain said false")
	}
}
