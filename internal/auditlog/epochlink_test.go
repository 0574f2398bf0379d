package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestEpochLinkRoundTrip(t *testing.T) {
	root := bytes.Repeat([]byte{7}, 32)
	in := EpochLink{Reason: "dirty_state", PreviousEpoch: 1767225600000000000,
		Acknowledged: &TreeHead{Size: 40, Root: root}, Released: &TreeHead{Size: 42, Root: root}}
	js, err := json.Marshal(in.Attributes())
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseEpochLink(string(js))
	if err != nil {
		t.Fatal(err)
	}
	if out.Reason != in.Reason || out.PreviousEpoch != in.PreviousEpoch || out.Acknowledged.Size != 40 ||
		out.Released.Size != 42 || !bytes.Equal(out.Released.Root, root) {
		t.Fatalf("round trip: got %+v", out)
	}
	empty, err := ParseEpochLink(`{"reason":"no_state"}`)
	if err != nil || empty.Acknowledged != nil || empty.Released != nil || empty.PreviousEpoch != 0 {
		t.Fatalf("no heads: %+v %v", empty, err)
	}
}

func TestEpochLinkMalformed(t *testing.T) {
	for _, js := range []string{
		`{"released_size":"42"}`,
		`{"released_size":"042","released_root":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`,
		`{"released_size":42,"released_root":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`,
		`{"released_size":"42","released_root":"abcd"}`,
		`{"released_size":"42","released_root":"` + string(bytes.Repeat([]byte("AB"), 32)) + `"}`,
		`{"acknowledged_size":"43","acknowledged_root":"` + string(bytes.Repeat([]byte("ab"), 32)) + `","released_size":"42","released_root":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`,
		`{"previous_epoch":"-1"}`,
		`not json`,
	} {
		if _, err := ParseEpochLink(js); !errors.Is(err, ErrMalformedLink) {
			t.Errorf("%s: got %v, want ErrMalformedLink", js, err)
		}
	}
}
