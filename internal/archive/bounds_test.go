package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/parquet-go/parquet-go/format"

	"github.com/govaudit/govaudit/internal/archive/archivetest"
	"github.com/govaudit/govaudit/internal/record"
)

func encode(t testing.TB, rows []record.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteRows(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckParquetAcceptsWriterOutput: whatever WriteRows writes passes the
// bounds, including large and repetitive content, lists and optional values.
func TestCheckParquetAcceptsWriterOutput(t *testing.T) {
	big := sealed(t, 7, 0, 3000)
	big[5].Input = strings.Repeat("the same prompt again ", 50000) // 1.1 MB that compresses ~5000x
	big[6].Flags = []string{"truncated", "invalid_value"}
	big[7].FinishReasons = []string{"stop", "length", "stop"}
	in, out := int64(12), int64(-1)
	big[8].InputTokens, big[8].OutputTokens = &in, &out
	score := 0.5
	big[9].Score = &score
	prompt := sealed(t, 8, 0, 2000) // the same raw 4 KB system prompt in every row
	for i := range prompt {
		prompt[i].SystemInstructions = strings.Repeat("You are a careful assistant. ", 140)
	}
	for name, rows := range map[string][]record.Record{
		"empty": nil, "one": sealed(t, 1, 0, 1)[:1], "sealed": sealed(t, 7, 0, 20), "big": big, "repeated-prompt": prompt,
	} {
		t.Run(name, func(t *testing.T) {
			data := encode(t, rows)
			if err := checkParquet(data); err != nil {
				t.Fatalf("checkParquet: %v", err)
			}
			got, err := DecodeFile(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(rows) || !bytes.Equal(encode(t, got), data) {
				t.Fatalf("read %d rows of %d, or they do not write the same bytes back", len(got), len(rows))
			}
		})
	}
}

// TestThriftStructSize: maxThriftStructs structures of at most
// maxThriftStructSize bytes each bound what a footer decodes to.
func TestThriftStructSize(t *testing.T) {
	for name, size := range map[string]uintptr{
		"RowGroup": unsafe.Sizeof(format.RowGroup{}), "ColumnChunk": unsafe.Sizeof(format.ColumnChunk{}),
		"SchemaElement": unsafe.Sizeof(format.SchemaElement{}), "KeyValue": unsafe.Sizeof(format.KeyValue{}),
		"PageEncodingStats": unsafe.Sizeof(format.PageEncodingStats{}), "ColumnOrder": unsafe.Sizeof(format.ColumnOrder{}),
		"SortingColumn": unsafe.Sizeof(format.SortingColumn{}),
	} {
		if size > maxThriftStructSize {
			t.Errorf("format.%s is %d bytes, more than maxThriftStructSize %d", name, size, maxThriftStructSize)
		}
	}
}

// hostile returns crafted variants of a valid data file, each named for
// its corruption. Every one must be refused with ErrCorrupt.
func hostile(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	footer := func(name string, edit func(*format.FileMetaData)) {
		b, err := archivetest.EditFooter(data, edit)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	footer("rows-5e7", func(md *format.FileMetaData) { md.NumRows = 5e7; md.RowGroups[0].NumRows = 5e7 })
	footer("rows-2e9", func(md *format.FileMetaData) { md.NumRows = 2e9; md.RowGroups[0].NumRows = 2e9 })
	footer("rows-negative", func(md *format.FileMetaData) { md.NumRows = -1 })
	footer("rows-footer-only", func(md *format.FileMetaData) { md.NumRows = 5e7 })
	footer("chunk-past-end", func(md *format.FileMetaData) { md.RowGroups[0].Columns[3].MetaData.TotalCompressedSize = 1 << 40 })
	footer("chunk-offset-negative", func(md *format.FileMetaData) { md.RowGroups[0].Columns[2].MetaData.DataPageOffset = -100 })
	footer("chunks-overlap", func(md *format.FileMetaData) {
		md.RowGroups[0].Columns[5].MetaData.DataPageOffset = md.RowGroups[0].Columns[4].MetaData.DataPageOffset
	})
	footer("values-2e9", func(md *format.FileMetaData) { md.RowGroups[0].Columns[0].MetaData.NumValues = 2e9 })
	footer("codec-gzip", func(md *format.FileMetaData) { md.RowGroups[0].Columns[0].MetaData.Codec = format.Gzip })
	footer("external-file", func(md *format.FileMetaData) { md.RowGroups[0].Columns[0].FilePath = "/dev/zero" })
	footer("schema-renamed", func(md *format.FileMetaData) { md.Schema[1].Name = "x" })
	footer("many-row-groups", func(md *format.FileMetaData) {
		for range 100 {
			md.RowGroups = append(md.RowGroups, md.RowGroups[0])
		}
	})
	pages, err := archivetest.Pages(data)
	if err != nil {
		t.Fatal(err)
	}
	page := func(name string, i int, edit func(*format.PageHeader)) {
		p := pages[i]
		h := p.Header
		edit(&h)
		b, err := archivetest.WithPageHeader(data, p, &h)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	for i, p := range pages {
		if p.Header.Type != format.DataPageV2 || i == 0 {
			continue
		}
		page("page-uncompressed-0x7ffffff0", i, func(h *format.PageHeader) { h.UncompressedPageSize = 0x7ffffff0 })
		page("page-compressed-0x7ffffff0", i, func(h *format.PageHeader) { h.CompressedPageSize = 0x7ffffff0 })
		page("page-values-2e9", i, func(h *format.PageHeader) {
			h.DataPageHeaderV2.V.NumValues, h.DataPageHeaderV2.V.NumRows = 2e9, 2e9
		})
		page("page-levels-huge", i, func(h *format.PageHeader) { h.DataPageHeaderV2.V.DefinitionLevelsByteLength = 0x7fffffff })
		page("page-v1", i, func(h *format.PageHeader) { h.Type = format.DataPage })
		break
	}
	for i, p := range pages {
		if p.Header.Type == format.DictionaryPage {
			page("dict-values-2e9", i, func(h *format.PageHeader) { h.DictionaryPageHeader.V.NumValues = 2e9 })
			page("dict-uncompressed-0x7ffffff0", i, func(h *format.PageHeader) { h.UncompressedPageSize = 0x7ffffff0 })
			break
		}
	}
	// The statistics of a page header claiming a 2 GB value: the thrift
	// length is read before the bytes, so only the walker stops it.
	for _, p := range pages {
		if p.Header.Type == format.DataPageV2 && len(p.Header.DataPageHeaderV2.V.Statistics.MaxValue) > 8 {
			b := append([]byte(nil), data...)
			hb := b[p.Offset : p.Offset+p.HeaderLen]
			if j := bytes.Index(hb, p.Header.DataPageHeaderV2.V.Statistics.MaxValue); j > 0 {
				// the one-byte varint length just before the value
				hb[j-1] = 0xff
				b = append(b[:p.Offset+int64(j)], append([]byte{0xff, 0xff, 0xff, 0x07}, b[p.Offset+int64(j):]...)...)
				out["page-stats-length-2e9"] = b
			}
			break
		}
	}
	n := len(data)
	footerLen := func(v uint32) []byte {
		b := append([]byte(nil), data...)
		b[n-8], b[n-7], b[n-6], b[n-5] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		return b
	}
	out["footer-len-4g"] = footerLen(0xffffffff)
	out["footer-len-file"] = footerLen(uint32(n - 8))
	out["footer-list-2e9"] = func() []byte {
		// a footer that is one struct with a list field of 2^31-1 row groups
		f := []byte{0x49, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}
		b := append([]byte("PAR1"), f...)
		b = append(b, byte(len(f)), 0, 0, 0)
		return append(b, "PAR1"...)
	}()
	out["footer-deep"] = func() []byte {
		f := bytes.Repeat([]byte{0x1c}, 100000) // struct field, struct field, ...
		b := append([]byte("PAR1"), f...)
		b = append(b, byte(len(f)), byte(len(f)>>8), byte(len(f)>>16), 0)
		return append(b, "PAR1"...)
	}()
	for _, cut := range []int{0, 3, 4, 12, n / 3, n / 2, n - 9, n - 8, n - 1} {
		out["truncated-"+strconv.Itoa(cut)] = data[:cut]
	}
	return out
}

// TestDecodeHostile: every crafted file is refused with ErrCorrupt, and
// refusing it allocates little (the claims are checked, not trusted).
func TestDecodeHostile(t *testing.T) {
	rows := sealed(t, 7, 0, 40)
	rows[2].Flags = []string{"truncated"}
	data := encode(t, rows)
	for name, b := range hostile(t, data) {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := DecodeFile("f.parquet", b)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "f.parquet") {
				t.Fatalf("DecodeFile = %v, want an error wrapping ErrCorrupt naming the file", err)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 64<<20 {
				t.Errorf("refusing it allocated %d bytes", a)
			}
		})
	}
}

// TestReadRegularRefuses: FIFOs, devices, symlinks, directories and files
// over the cap are refused without blocking, naming the path.
func TestReadRegularRefuses(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "records", "origin=o", "date=2026-05-01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.parquet")
	os.WriteFile(outside, encode(t, sealed(t, 1, 0, 2)), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.parquet"))
	os.Symlink(outside, filepath.Join(dir, "out.parquet"))
	os.Mkdir(filepath.Join(dir, "dir.parquet"), 0o755)
	os.WriteFile(filepath.Join(dir, "big.parquet"), make([]byte, 100), 0o644)
	os.Symlink(t.TempDir(), filepath.Join(root, "records", "origin=link"))
	os.WriteFile(filepath.Join(root, "records", "origin=link", "x.parquet"), nil, 0o644)
	for _, c := range []struct {
		rel  string
		want error
	}{
		{"records/origin=o/date=2026-05-01/fifo.parquet", ErrNotRegular},
		{"records/origin=o/date=2026-05-01/zero.parquet", ErrNotRegular},
		{"records/origin=o/date=2026-05-01/out.parquet", ErrNotRegular},
		{"records/origin=o/date=2026-05-01/dir.parquet", ErrNotRegular},
		{"records/origin=o/date=2026-05-01/big.parquet", ErrTooLarge},
		{"records/origin=link/x.parquet", ErrNotRegular},
		{"records/origin=o/date=2026-05-01/missing.parquet", os.ErrNotExist},
	} {
		_, err := ReadRegular(root, c.rel, 99)
		if !errors.Is(err, c.want) {
			t.Errorf("ReadRegular(%s) = %v, want %v", c.rel, err, c.want)
		}
	}
	for _, rel := range []string{"../x", "/etc/passwd", "a/../../x", "."} {
		if _, err := ReadRegular(root, rel, 99); err == nil {
			t.Errorf("ReadRegular(%q) accepted a path outside the root", rel)
		}
	}
	files, err := DataFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dir.parquet", "fifo.parquet", "out.parquet", "zero.parquet"}
	for _, w := range want {
		found := false
		for _, f := range files {
			found = found || strings.HasSuffix(f, "/"+w)
		}
		if !found {
			t.Errorf("DataFiles = %v, misses %s (a reader must see and refuse it)", files, w)
		}
	}
	for _, f := range files {
		if _, err := ReadRows(root, f); err == nil {
			t.Errorf("ReadRows(%s) accepted it", f)
		}
	}
}

// FuzzDecodeFile: no input makes the data-file reader panic, hang or
// allocate beyond its bounds; every refusal wraps ErrCorrupt; whatever it
// accepts can be written again (the query and report paths hold decoded rows).
func FuzzDecodeFile(f *testing.F) {
	rows := seedRows(f, 6)
	rows[1].Flags = []string{"a", "b"}
	data := encode(f, rows)
	f.Add(data)
	f.Add(encode(f, nil))
	for _, b := range hostile(f, data) {
		if len(b) <= 32<<10 { // large inputs slow the mutator down for nothing
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := DecodeFile("f", b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		var buf bytes.Buffer
		WriteRows(&buf, rows)
	})
}

// seedRows returns n leaves and a checkpoint row (its note is not signed
// by a real key: the reader does not verify signatures).
func seedRows(tb testing.TB, n int) []record.Record {
	var rows []record.Record
	for i := range n {
		r := record.Record{SchemaVersion: 1, ID: "rec-" + strconv.Itoa(i), Type: record.TypeInference,
			StartTime: t0.UnixNano() + int64(i), Provider: "openai", RequestModel: "gpt-4o", UserID: "u"}
		r.SetLeaf(origin, 7, uint64(i))
		rows = append(rows, r)
	}
	return append(rows, record.Record{SchemaVersion: 1, ID: "cp", Type: record.TypeCheckpoint, Origin: origin, Epoch: 7,
		Checkpoint: origin + "/7\n" + strconv.Itoa(n) + "\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 k AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"})
}
