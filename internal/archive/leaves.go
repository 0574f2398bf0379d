package archive

import (
	"bytes"
	"fmt"

	"github.com/govaudit/govaudit/internal/record"
)

// A LeafRow is the part of a data file's row that places it in its log:
// what a proof builder needs, read without the record's other columns. Its
// slices are valid during the call that sees it only.
type LeafRow struct {
	// Checkpoint is set on a checkpoint row, whose Note is the signed note;
	// a leaf's Note is empty.
	Checkpoint bool
	Origin     []byte
	Epoch      uint64
	LeafIndex  uint64
	LeafHash   []byte
	Note       []byte
}

// leafColumns are the columns Leaves reads.
var leafColumns = []string{"record_type", "origin", "epoch", "leaf_index", "leaf_hash", "checkpoint"}

// leafBatch is the number of rows Leaves and FindRecord read at a time.
const leafBatch = 1024

// Leaves calls visit with each row of the file, in order, read from the
// columns that place a row in its log (LeafRow): nothing else of the
// record is read. It stops early when visit returns false.
func (f *DataFile) Leaves(visit func(row int64, r *LeafRow) bool) error {
	cols := make([]*ColumnReader, len(leafColumns))
	vals := make([]ColumnValues, len(leafColumns))
	for j, name := range leafColumns {
		var err error
		if cols[j], err = f.Column(name); err != nil {
			return err
		}
		defer cols[j].Release()
	}
	checkpoint := []byte(record.TypeCheckpoint)
	var lr LeafRow
	for r0 := int64(0); r0 < f.NumRows(); r0 += leafBatch {
		n := int(min(leafBatch, f.NumRows()-r0))
		for j, c := range cols {
			if err := c.ReadRows(n, &vals[j]); err != nil {
				return err
			}
		}
		for i := range n {
			lr = LeafRow{
				Checkpoint: bytes.Equal(vals[0].Str(vals[0].Rows[i]), checkpoint),
				Origin:     vals[1].Str(vals[1].Rows[i]),
				Epoch:      uint64(vals[2].Int64[vals[2].Rows[i]]),
				LeafIndex:  uint64(vals[3].Int64[vals[3].Rows[i]]),
				LeafHash:   vals[4].Str(vals[4].Rows[i]),
				Note:       vals[5].Str(vals[5].Rows[i]),
			}
			if !visit(r0+int64(i), &lr) {
				return nil
			}
		}
	}
	return nil
}

// CheckpointRows calls visit with the signed note of each checkpoint row of
// the file, in order, read from the record_type and checkpoint columns; it
// stops early when visit returns false. note is valid during the call.
func (f *DataFile) CheckpointRows(visit func(row int64, note []byte) bool) error {
	types, err := f.Column("record_type")
	if err != nil {
		return err
	}
	defer types.Release()
	notes, err := f.Column("checkpoint")
	if err != nil {
		return err
	}
	defer notes.Release()
	checkpoint := []byte(record.TypeCheckpoint)
	var tv, nv ColumnValues
	for r0 := int64(0); r0 < f.NumRows(); r0 += leafBatch {
		n := int(min(leafBatch, f.NumRows()-r0))
		if err := types.ReadRows(n, &tv); err != nil {
			return err
		}
		if err := notes.ReadRows(n, &nv); err != nil {
			return err
		}
		for i := range n {
			if bytes.Equal(tv.Str(tv.Rows[i]), checkpoint) && !visit(r0+int64(i), nv.Str(nv.Rows[i])) {
				return nil
			}
		}
	}
	return nil
}

// FindRecord returns the leaf row (not a checkpoint row) whose record_id is
// id, and its row number, or nil if the file has none: it reads the
// record_id and record_type columns to find the row, then that row alone
// (Row).
func (f *DataFile) FindRecord(id string) (*record.Record, int64, error) {
	ids, err := f.Column("record_id")
	if err != nil {
		return nil, 0, err
	}
	types, err := f.Column("record_type")
	if err != nil {
		return nil, 0, err
	}
	want, checkpoint := []byte(id), []byte(record.TypeCheckpoint)
	var iv, tv ColumnValues
	for r0 := int64(0); r0 < f.NumRows(); r0 += leafBatch {
		n := int(min(leafBatch, f.NumRows()-r0))
		if err := ids.ReadRows(n, &iv); err != nil {
			return nil, 0, err
		}
		if err := types.ReadRows(n, &tv); err != nil {
			return nil, 0, err
		}
		for i := range n {
			if bytes.Equal(iv.Str(iv.Rows[i]), want) && !bytes.Equal(tv.Str(tv.Rows[i]), checkpoint) {
				row := r0 + int64(i)
				ids.Release()
				types.Release()
				rec, err := f.Row(row)
				if err != nil {
					return nil, 0, err
				}
				if rec.ID != id {
					return nil, 0, fmt.Errorf("%s: %w: row %d: record_id %q, its column said %q", f.name, ErrCorrupt, row, rec.ID, id)
				}
				return rec, row, nil
			}
		}
	}
	ids.Release()
	types.Release()
	return nil, 0, nil
}
