package archive

import (
	"bytes"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/govaudit/govaudit/internal/record"
)

// WriteRows writes rows as one data file. Every data file has exactly this
// encoding — record.WriterOptions, one Write of all rows, one Close — and
// parquet-go's output is a deterministic function of the rows, so a
// verifier can re-encode a file's rows and compare bytes (SameEncoding):
// a changed byte anywhere in a file, even one no decoder looks at (page
// statistics, bloom filters, footer metadata), is then evidence of tampering.
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

// SameEncoding reports whether data is byte for byte the encoding of rows by
// WriteRows.
func SameEncoding(data []byte, rows []record.Record) bool {
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := WriteRows(&buf, rows); err != nil {
		return false
	}
	return bytes.Equal(buf.Bytes(), data)
}
