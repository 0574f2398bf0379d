package archive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// exampleKey is the key of the worked example in docs/verification.md:
// deterministic, so the example's signature is too (Ed25519 signs
// deterministically).
func exampleKey() (note.Signer, note.Verifier, string) {
	skey, vkey, err := note.GenerateKey(mrand.NewChaCha8([32]byte{}), "collector-1.example.com")
	if err != nil {
		panic(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	return s, v, vkey
}

// exampleManifest is manifest 1 of collector-1.example.com in the worked
// example: it follows a manifest 0 whose file bytes are "manifest 0\n".
func exampleManifest() Manifest {
	prev := sha256.Sum256([]byte("manifest 0\n"))
	data := "records/origin=collector-1.example.com/date=2026-03-14/20260314T235958.123456789Z.parquet"
	return Manifest{Origin: "collector-1.example.com", Seq: 1, Previous: prev, Files: []Digest{
		DigestOf("checkpoints/collector-1.example.com/1764182000000000000/42", []byte("checkpoint bytes\n")),
		DigestOf(IndexPath(data), []byte("{}")),
		DigestOf(data, []byte("PAR1 data file bytes PAR1")),
	}}
}

func ExampleSignManifest() {
	signer, _, vkey := exampleKey()
	b, err := SignManifest(signer, exampleManifest())
	if err != nil {
		panic(err)
	}
	fmt.Println(vkey)
	fmt.Print(string(b))
	// Output:
	// collector-1.example.com+1a1a4a63+AXX8yEKexoMqBPPwG4pGAhhjo5CyiHLiJZ7p3jg0aJZM
	// govaudit.dev/manifest/v1
	// origin collector-1.example.com
	// seq 1
	// previous e8013c20eb892add061c01ac53db8dd7d527d8b167ea5b375f09e2d061db8183
	// 5971668c84c3ab63515fdd54723e1b52bab0bfd3c757099a9abc3bb144a3e279 17 checkpoints/collector-1.example.com/1764182000000000000/42
	// 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a 2 index/origin=collector-1.example.com/date=2026-03-14/20260314T235958.123456789Z.json
	// b08631f93c92de2b2a57045a67a09c63471932b3c2de01c28d1e9aa027d320f7 25 records/origin=collector-1.example.com/date=2026-03-14/20260314T235958.123456789Z.parquet
	//
	// — collector-1.example.com GhpKY8I1ZILlIpNOSb3NRLIAHIMx+RsjhmZ4aQynuuCK14uj1JUXbUBMNXy4TIlNIT/TNrRBYkGtQmfD6RV6wzM+LAE=
}

func ExampleManifestPath() {
	fmt.Println(ManifestPath("collector-1.example.com", 7))
	fmt.Println(ParseManifestPath("manifests/collector-1.example.com/7"))
	fmt.Println(ParseManifestPath("manifests/collector-1.example.com/07"))
	// Output:
	// manifests/collector-1.example.com/7
	// collector-1.example.com 7 <nil>
	//  0 manifest file "manifests/collector-1.example.com/07": seq must be a canonical decimal number
}

func TestOpenManifest(t *testing.T) {
	signer, v, _ := exampleKey()
	m := exampleManifest()
	b, err := SignManifest(signer, m)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := OpenManifest(b, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("round trip: %+v\nwant %+v", got, m)
	}
	// Every byte of the text changed: the signature fails (or the note is
	// malformed); never a different manifest.
	text := len(b) - len(b[strings.LastIndex(string(b), "\n\n"):])
	for i := 0; i < text; i++ {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		if _, _, err := OpenManifest(c, note.VerifierList(v)); err == nil {
			t.Fatalf("byte %d changed: still opens", i)
		}
	}
}

func TestParseManifestRejects(t *testing.T) {
	good, err := FormatManifest(exampleManifest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseManifest(good); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(good, "\n")
	data := strings.TrimSuffix(lines[6], "\n")
	h := strings.Repeat("ab", 32)
	for _, c := range []struct{ name, text string }{
		{"empty", ""},
		{"no final newline", strings.TrimSuffix(good, "\n")},
		{"other header", strings.Replace(good, "manifest/v1", "manifest/v2", 1)},
		{"checkpoint", "collector-1.example.com/5\n3\n" + strings.Repeat("A", 43) + "=\n"},
		{"bad origin", strings.Replace(good, "origin collector-1", "origin -collector-1", 1)},
		{"seq leading zero", strings.Replace(good, "seq 1", "seq 01", 1)},
		{"seq sign", strings.Replace(good, "seq 1", "seq +1", 1)},
		{"no previous", strings.Replace(good, lines[3], "", 1)},
		{"previous at seq 0", strings.Replace(good, "seq 1", "seq 0", 1)},
		{"previous uppercase", strings.Replace(good, lines[3], strings.ToUpper(lines[3]), 1)},
		{"no file", strings.Join(lines[:4], "")},
		{"trailing space", strings.Replace(good, data, data+" ", 1)},
		{"CR", strings.Replace(good, data+"\n", data+"\r\n", 1)},
		{"unsorted", strings.Join(append(lines[:4:4], lines[6], lines[5], lines[4]), "")},
		{"duplicate", good + lines[6]},
		{"size leading zero", strings.Replace(good, " 25 records/", " 025 records/", 1)},
		{"short hash", good + h[:62] + " 1 checkpoints/collector-1.example.com/9/9\n"},
		{"other origin", good + h + " 1 checkpoints/collector-2/9/9\n"},
		{"latest", good + h + " 1 checkpoints/collector-1.example.com/latest\n"},
		{"wal", good + h + " 1 wal/origin=collector-1.example.com/20260314T235958.123456789Z.wal\n"},
		{"manifest", good + h + " 1 manifests/collector-1.example.com/0\n"},
		{"dot dot", good + h + " 1 records/origin=collector-1.example.com/../x.parquet\n"},
		{"index of nothing", good + h + " 1 index/origin=collector-1.example.com/x.json\n"},
		{"blank line", strings.Replace(good, lines[4], lines[4]+"\n", 1)},
	} {
		if m, err := ParseManifest(c.text); err == nil {
			t.Errorf("%s: accepted %+v", c.name, m)
		}
	}
}

func TestWriteManifestChain(t *testing.T) {
	root := t.TempDir()
	signer, v, _ := exampleKey()
	write := func(rel, s string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	const o = "o"
	write(CheckpointPath(o, 1, 1), "c1")
	write(LatestPath(o), "c1")
	if err := SignUnlisted(root, signer); err != nil {
		t.Fatal(err)
	}
	write(CheckpointPath(o, 1, 2), "c2")
	write("records/stray", "x") // belongs to no origin: never listed
	if err := SignUnlisted(root, signer); err != nil {
		t.Fatal(err)
	}
	head, err := ReadManifestHead(root, o)
	if err != nil {
		t.Fatal(err)
	}
	if head.Next != 2 || len(head.Files) != 1 || head.Files[0].Path != CheckpointPath(o, 1, 2) || !head.Lists(CheckpointPath(o, 1, 2)) {
		t.Fatalf("head %+v", head)
	}
	b0, _ := os.ReadFile(filepath.Join(root, ManifestPath(o, 0)))
	b1, _ := os.ReadFile(filepath.Join(root, ManifestPath(o, 1)))
	m1, _, err := OpenManifest(b1, note.VerifierList(v))
	if err != nil || m1.Previous != sha256.Sum256(b0) {
		t.Fatalf("manifest 1: %+v %v", m1, err)
	}
	mf, err := ManifestFiles(root)
	if err != nil || fmt.Sprint(mf) != "[manifests/o/0 manifests/o/1]" {
		t.Fatalf("ManifestFiles = %v %v", mf, err)
	}
	// Nothing new: no manifest.
	if err := SignUnlisted(root, signer); err != nil {
		t.Fatal(err)
	}
	if head, _ := ReadManifestHead(root, o); head.Next != 2 {
		t.Fatalf("a manifest listing nothing was written: %+v", head)
	}
	if _, _, err := OpenManifest(append(b1, make([]byte, MaxManifestFileSize)...), note.VerifierList(v)); !errors.Is(err, ErrMalformedManifest) {
		t.Errorf("oversized manifest: %v", err)
	}
}
