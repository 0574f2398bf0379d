package archive

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/govaudit/govaudit/internal/record"
)

// A LeafRow is the part of a data file's row that places it in its log:
// what a proof builder needs, read without the record's other columns.
type LeafRow struct {
	Type       record.Type `parquet:"record_type"`
	Origin     string      `parquet:"origin"`
	Epoch      uint64      `parquet:"epoch"`
	LeafIndex  uint64      `parquet:"leaf_index"`
	LeafHash   []byte      `parquet:"leaf_hash"`
	Checkpoint string      `parquet:"checkpoint"`
}

// DecodeLeaves decodes the LeafRow columns of a data file's bytes (see
// DecodeFile: bounds-checked first, a hostile file is an error naming it).
// visit sees each row in file order; the row is not valid after visit
// returns. Nothing else of the record is decoded or kept.
func DecodeLeaves(name string, data []byte, visit func(r *LeafRow)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: %w: %v", name, ErrCorrupt, p)
		}
	}()
	f, err := openRows(name, data)
	if err != nil {
		return err
	}
	n := f.NumRows()
	rd := parquet.NewGenericReader[LeafRow](f)
	defer rd.Close()
	batch := make([]LeafRow, 1024)
	var read int64
	for read < n {
		clear(batch)
		k, err := rd.Read(batch[:min(int64(len(batch)), n-read)])
		for i := range batch[:k] {
			visit(&batch[i])
		}
		read += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: row %d: %w: %v", name, read, ErrCorrupt, err)
		}
		if k == 0 {
			break
		}
	}
	if read != n {
		return fmt.Errorf("%s: %w: read %d of %d rows", name, ErrCorrupt, read, n)
	}
	return nil
}

// FindRecord returns the leaf row (not a checkpoint row) whose record_id
// is id in a data file's bytes, or nil: it reads the record_id and
// record_type columns to find the row, then decodes that row only (see
// DecodeFile for the bounds).
func FindRecord(name string, data []byte, id string) (rec *record.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("%s: %w: %v", name, ErrCorrupt, p)
		}
	}()
	f, err := openRows(name, data)
	if err != nil {
		return nil, err
	}
	type idRow struct {
		ID   string      `parquet:"record_id"`
		Type record.Type `parquet:"record_type"`
	}
	n := f.NumRows()
	ids := parquet.NewGenericReader[idRow](f)
	defer ids.Close()
	batch := make([]idRow, 1024)
	row := int64(-1)
	for read := int64(0); read < n && row < 0; {
		clear(batch)
		k, err := ids.Read(batch[:min(int64(len(batch)), n-read)])
		for i := range batch[:k] {
			if batch[i].ID == id && batch[i].Type != record.TypeCheckpoint {
				row = read + int64(i)
				break
			}
		}
		read += int64(k)
		if err == io.EOF || k == 0 {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w: %v", name, read, ErrCorrupt, err)
		}
	}
	if row < 0 {
		return nil, nil
	}
	rd := parquet.NewGenericReader[record.Record](f)
	defer rd.Close()
	if err := rd.SeekToRow(row); err != nil {
		return nil, fmt.Errorf("%s: row %d: %w: %v", name, row, ErrCorrupt, err)
	}
	out := make([]record.Record, 1)
	if k, err := rd.Read(out); k != 1 {
		return nil, fmt.Errorf("%s: row %d: %w: %v", name, row, ErrCorrupt, err)
	}
	if out[0].ID != id {
		return nil, fmt.Errorf("%s: row %d: %w: record_id %q, its column said %q", name, row, ErrCorrupt, out[0].ID, id)
	}
	out[0].Normalize()
	return &out[0], nil
}
