package record

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// TestJSONForm pins the JSON form: ids and epochs as strings, times RFC
// 3339 with nanoseconds, hashes hex, and that it reads back losslessly.
func TestJSONForm(t *testing.T) {
	in := 3
	r := Record{SchemaVersion: 1, ID: "r1", Type: TypeInference, StartTime: 1764182088000000001,
		Origin: "host-a", InputTokens: ptr(int64(in))}
	r.SetLeaf("host-a", 1764182000000000123, 9007199254740993) // 2^53+1: a float64 would round it
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema_version":1,"record_id":"r1","record_type":"inference","origin":"host-a","input_tokens":3,` +
		`"start_time":"2025-11-26T18:34:48.000000001Z","epoch":"1764182000000000123","leaf_index":"9007199254740993",` +
		`"leaf_hash":"` + hexOf(r.LeafHash) + `"}`
	if string(got) != want {
		t.Fatalf("JSON form:\n got %s\nwant %s", got, want)
	}
	var back Record
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, r)
	}
	// The earlier form (numbers, base64 hash) still reads, as the same record.
	legacy := `{"schema_version":1,"record_id":"r1","record_type":"inference","origin":"host-a","input_tokens":3,` +
		`"start_time":1764182088000000001,"epoch":1764182000000000123,"leaf_index":9007199254740993,"leaf_hash":"` +
		b64Of(r.LeafHash) + `"}`
	back = Record{}
	if err := json.Unmarshal([]byte(legacy), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("legacy form:\n got %+v\nwant %+v", back, r)
	}
	for _, bad := range []string{
		`{"record_id":"r1","bogus":1}`,
		`{"leaf_index":"-1"}`, `{"leaf_index":"01"}`, `{"epoch":1.5}`,
		`{"start_time":"yesterday"}`, `{"leaf_hash":"not hex!"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }

func b64Of(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
