package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
// retained (oldest) version, in blocks: opening fetches the first and the
// last blocks (magic and footer), a bloom filter question a block or two
// per row group, a row the chunks up to its row group's, and what is read
// equals the local
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
	if len(data) < 16*blockSize {
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
	if cnt.Gets() > 3 || cnt.GetBytes() > 3*blockSize {
		t.Errorf("opening fetched %d bytes in %d GETs, want the first block, and the last one or two (the footer)", cnt.GetBytes(), cnt.Gets())
	}
	local, err := OpenDataBytes(rel, data)
	if err != nil {
		t.Fatal(err)
	}
	cnt.Reset()
	if !f.MayContain("record_id", rows[12345].ID) {
		t.Error("MayContain: false for a record of the file")
	}
	if rgs := int64(len(f.RowGroupEnds())); cnt.Gets() > 2*rgs || cnt.GetBytes() > 2*blockSize*rgs {
		t.Errorf("a bloom filter question fetched %d bytes in %d GETs; want at most two blocks for each of the %d row groups", cnt.GetBytes(), cnt.Gets(), rgs)
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
	// A row is read from the column chunks of its row group, not those of
	// the row groups before it, which SkipRows skips whole: the small
	// chunks in blocks (a block may also hold bytes of a large chunk, read
	// by its own request), in far fewer requests than the 45 columns.
	var chunks int64
	ends := f.RowGroupEnds()
	for rg, end := range ends {
		if 12345 < end {
			if rg == 0 {
				t.Fatal("test setup: the row is in the first row group")
			}
			for _, r := range f.fm.chunks[rg] {
				chunks += r[1] - r[0]
			}
			break
		}
	}
	if cnt.GetBytes() == 0 || cnt.GetBytes() > chunks+cnt.Gets()*blockSize || cnt.Gets() > 16 {
		t.Errorf("reading a row fetched %d bytes in %d GETs; the chunks of its row group are %d of the file's %d bytes (row groups end at %v)", cnt.GetBytes(), cnt.Gets(), chunks, len(data), ends)
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

	// Reads of every size at random offsets, through a cache of 3 blocks
	// (dropping blocks all the time), return the object's bytes.
	old := maxBlocks
	maxBlocks = 3
	defer func() { maxBlocks = old }()
	fa, err = OpenFileAt(root, rel, MaxDataFileSize)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n := rnd.Int64N(2 * blockSize)
		if rnd.IntN(4) == 0 {
			n = rnd.Int64N(64)
		}
		off := rnd.Int64N(int64(len(data)) - n + 1)
		p := make([]byte, n)
		if k, err := fa.ReadAt(p, off); err != nil || k != len(p) || !bytes.Equal(p, data[off:off+n]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; or other bytes", n, off, k, err)
		}
	}
	if o := fa.(*objectAt); len(o.blocks) > 3 || len(o.used) != len(o.blocks) {
		t.Errorf("%d blocks kept (%d in use order), want at most 3", len(o.blocks), len(o.used))
	}
	fa.Close()

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
