package mleventsreceiver

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bodies and header values to every parser: none
// may panic, and whatever they accept must be a valid governance record.
func FuzzParse(f *testing.F) {
	for _, name := range []string{
		"structured_reviewed.json", "batch.json", "batch_partial.json", "binary_promoted.json",
		"mlflow_model_version_created.json", "mlflow_alias_created.json",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "dev.govaudit.model.promoted", "application/json")
	}
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"x","data_base64":"AAEC"}`), `"a\"b"`, "text/plain")
	f.Add([]byte(`[{"specversion":"1.0"},null,1]`), "%C0%A0", "")

	now := time.Unix(1767225600, 0)
	f.Fuzz(func(t *testing.T, body []byte, header, contentType string) {
		check := func(e *cloudEvent, err error) {
			if err != nil || e == nil {
				return
			}
			rec, err := e.toRecord(now, 1024)
			if err == nil {
				if err := rec.Validate(); err != nil {
					t.Fatalf("accepted an invalid record: %v", err)
				}
				if len(rec.Attributes) > 1024 {
					t.Fatalf("attributes of %d bytes exceed the cap", len(rec.Attributes))
				}
			}
		}
		check(parseStructured(body))
		_ = parseBatch(bytes.NewReader(body), 8, func(_ int, e *cloudEvent, err error) { check(e, err) })
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set("ce-specversion", "1.0")
		h.Set("ce-id", header)
		h.Set("ce-source", "/fuzz")
		h.Set("ce-type", header)
		check(parseBinary(h, body))
		_, _, _ = detectMode(h)
		if rec, err := parseMLflow(body, header, now, 1024); err == nil {
			if err := rec.Validate(); err != nil {
				t.Fatalf("accepted an invalid MLflow record: %v", err)
			}
		}
		h.Set(headerMLflowSignature, header)
		h.Set(headerMLflowDeliveryID, header)
		h.Set(headerMLflowTimestamp, header)
		_ = verifyMLflowSignature([]byte("k"), h, body, now, time.Minute)
	})
}
