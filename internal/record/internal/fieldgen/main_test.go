package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestGeneratedFileIsCurrent: fields_gen.go is what the generator makes of
// record.go today (run go generate in internal/record otherwise).
func TestGeneratedFileIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../../record.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate("record.go", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../fields_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/record/fields_gen.go is stale: run go generate ./internal/record")
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, c := range []struct{ name, fields, want string }{
		{"duplicate number", "A string `parquet:\"a\" canon:\"1\" max:\"1\"`\nB string `parquet:\"b\" canon:\"1\" max:\"1\"`", "fields A and B share canon number 1"},
		{"number 0", "A string `parquet:\"a\" canon:\"0\" max:\"1\"`", `field A: bad canon tag "0"`},
		{"number 256", "A int64 `parquet:\"a\" canon:\"256\"`", `field A: bad canon tag "256"`},
		{"no canon tag", "A int64 `parquet:\"a\"`", `field A: bad canon tag ""`},
		{"type", "A int32 `parquet:\"a\" canon:\"1\"`", "field A: unsupported type int32"},
		{"map type", "A map[string]string `parquet:\"a\" canon:\"1\"`", "field A: unsupported type"},
		{"no column", "A int64 `canon:\"1\"`", "field A: no parquet column name"},
		{"no max", "A string `parquet:\"a\" canon:\"1\"`", `field A: bad max tag ""`},
		{"list max", "A []string `parquet:\"a\" canon:\"1\" max:\"4\"`", `field A: bad max tag "4"`},
		{"string max with count", "A string `parquet:\"a\" canon:\"1\" max:\"4,2\"`", `field A: bad max tag "4,2"`},
		{"derived bytes only", "A string `parquet:\"a\" canon:\"1\" max:\"4\"`\nH []byte `parquet:\"h\" canon:\"2\"`", "field H: kind kindBytes cannot be encoded"},
		{"no tags", "A string", "every Record field needs one name and tags"},
	} {
		src := "package record\n\ntype Record struct {\n" + c.fields + "\n}\n"
		_, err := generate("record.go", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := generate("record.go", []byte("package record\n\ntype Other struct{}\n")); err == nil || !strings.Contains(err.Error(), "no struct type Record") {
		t.Errorf("no Record: %v", err)
	}
}
