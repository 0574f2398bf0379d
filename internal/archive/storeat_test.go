package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/govaudit/govaudit/internal/objectstore/s3test"
	"github.com/govaudit/govaudit/internal/record"
)

// readColumns reads every column of f to its end.
func readColumns(f *DataFile) error {
	var v ColumnValues
	for _, col := range record.Columns() {
		c, err := f.Column(col)
		if err != nil {
			return err
		}
		for left := f.NumRows(); left > 0; left -= min(left, 100) {
			if err := c.ReadRows(int(min(left, 100)), &v); err != nil {
				return err
			}
		}
		if _, err := c.Next(0); err != io.EOF {
			return fmt.Errorf("after the last row: %v", err)
		}
	}
	return nil
}

// TestBucketOpenAt: a data file in a bucket is opened by ranges of its
// retained (oldest) version: opening fetches its footer only (one 4-byte
// magic and the last 64 KiB), a bloom filter question a few hundred
// bytes, a row its row group's chunks, and what is read equals the local
// reading; every crafted file of the bounds corpus is refused with
// ErrCorrupt naming the object, as locally; a size over the cap is refused
// before any object byte is fetched, and a read past the listed size
// fetches nothing.
func TestBucketOpenAt(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("audit")
	c := srv.Client()
	cnt := srv.Counter()
	ctx := context.Background()
	put := func(key string, b []byte, replace bool) {
		t.Helper()
		sum := sha256.Sum256(b)
		put := c.Put
		if replace {
			put = c.Replace
		}
		if err := put(ctx, "audit", "p/"+key, bytes.NewReader(b), int64(len(b)), sum[:], nil); err != nil {
			t.Fatal(err)
		}
	}
	rows := benchRows(30_000)
	data := encode(t, rows)
	if len(data) < 4*tailSize {
		t.Fatalf("test setup: a data file of %d bytes, want several times the tail", len(data))
	}
	const rel = "records/origin=a/date=2026-11-27/20261127T100000.000000000Z.parquet"
	put(rel, data, false)
	put(rel, encode(t, rows[:10]), true) // a later version: not the archived one
	const root = "s3://audit/p"

	cnt.Reset()
	f, err := OpenDataFile(root, rel)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.NumRows() != int64(len(rows)) {
		t.Fatalf("NumRows = %d, want the oldest version's %d", f.NumRows(), len(rows))
	}
	if cnt.Gets() != 2 || cnt.GetBytes() != 4+tailSize {
		t.Errorf("opening fetched %d bytes in %d GETs, want the magic and the %d-byte tail", cnt.GetBytes(), cnt.Gets(), tailSize)
	}
	local, err := OpenDataBytes(rel, data)
	if err != nil {
		t.Fatal(err)
	}
	cnt.Reset()
	if !f.MayContain("record_id", rows[12345].ID) {
		t.Error("MayContain: false for a record of the file")
	}
	if cnt.GetBytes() > 4<<10 {
		t.Errorf("a bloom filter question fetched %d bytes", cnt.GetBytes())
	}
	for _, id := range []string{"absent-1", "absent-2", "absent-3"} {
		if f.MayContain("record_id", id) != local.MayContain("record_id", id) {
			t.Errorf("MayContain(%s) differs from the local reading", id)
		}
	}
	cnt.Reset()
	got, err := f.Row(12345)
	want, _ := local.Row(12345)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Row(12345) = %+v, %v\nwant %+v", got, err, want)
	}
	// A row is read from whole column chunks: those of its row group and,
	// as SkipRows walks them, of the row groups before it; never those
	// after it.
	var chunks int64
	ends := f.RowGroupEnds()
	for rg, end := range ends {
		for _, r := range f.fm.chunks[rg] {
			chunks += r[1] - r[0]
		}
		if 12345 < end {
			break
		}
	}
	if len(ends) < 2 || cnt.GetBytes() == 0 || cnt.GetBytes() > chunks || chunks > int64(len(data))*3/4 {
		t.Errorf("reading a row fetched %d bytes; the chunks up to its row group are %d of the file's %d bytes (%d row groups)", cnt.GetBytes(), chunks, len(data), len(ends))
	}
	if err := readColumns(f); err != nil {
		t.Errorf("reading every column: %v", err)
	}

	// The reader's bounds: over the cap, nothing fetched; past the size,
	// nothing fetched.
	cnt.Reset()
	if _, err := OpenFileAt(root, rel, int64(len(data)-1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("OpenFileAt under its size: %v, want ErrTooLarge", err)
	}
	fa, err := OpenFileAt(root, rel, MaxDataFileSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fa.ReadAt(make([]byte, 10), fa.Size()-5); err == nil || !strings.Contains(err.Error(), "past its") {
		t.Errorf("ReadAt past the size: %v", err)
	}
	if cnt.Gets() != 0 {
		t.Errorf("refused reads fetched %d objects", cnt.Gets())
	}
	if _, err := OpenFileAt(root, "records/missing.parquet", MaxDataFileSize); err == nil || !strings.Contains(err.Error(), "records/missing.parquet") {
		t.Errorf("OpenFileAt of a missing object: %v", err)
	}

	small := sealed(t, 7, 0, 40)
	small[2].Flags = []string{"truncated"}
	for name, b := range hostile(t, encode(t, small)) {
		rel := "hostile/" + name + ".parquet"
		put(rel, b, false)
		f, err := OpenDataFile(root, rel)
		if err == nil {
			err = readColumns(f)
			f.Close()
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), rel) {
			t.Errorf("%s in a bucket: %v, want ErrCorrupt naming it", name, err)
		}
	}
}
