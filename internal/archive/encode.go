package archive

import (
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/govaudit/govaudit/internal/record"
)

// WriteRows writes rows as one data file with record.WriterOptions, one
// Write of all rows and one Close. Verification does not depend on these
// bytes: a data file is checked by the SHA-256 its signed manifest lists
// (see Manifest) and by its rows' leaf hashes, so a later parquet-go or other
// writer options may write other bytes for the same rows.
func WriteRows(w io.Writer, rows []record.Record) error {
	pw := parquet.NewGenericWriter[record.Record](w, record.WriterOptions()...)
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	return pw.Close()
}

// DecodeFile decodes the bytes of a data file (name is used in errors only);
// see ReadFile.
func DecodeFile(name string, data []byte) ([]record.Record, error) { return readParquet(name, data) }
