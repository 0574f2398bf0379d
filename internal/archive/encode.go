package archive

import "github.com/govaudit/govaudit/internal/record"

// DecodeFile decodes the bytes of a data file (name is used in errors only);
// see ReadFile.
func DecodeFile(name string, data []byte) ([]record.Record, error) { return readParquet(name, data) }
