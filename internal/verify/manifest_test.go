package verify

import (
	"crypto/sha256"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
)

// manifestChain signs manifests 0..len(lists)-1 of origin o, each listing
// the digests given, chained; it returns the manifest files.
func manifestChain(t *testing.T, k keyPair, o string, lists ...[]archive.Digest) []ManifestFile {
	t.Helper()
	var out []ManifestFile
	var prev [32]byte
	for seq, files := range lists {
		b, err := archive.SignManifest(k.signer, archive.Manifest{Origin: o, Seq: uint64(seq), Previous: prev, Files: files})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ManifestFile{Path: archive.ManifestPath(o, uint64(seq)), Data: b})
		prev = sha256.Sum256(b)
	}
	return out
}

func digest(p, content string) *archive.Digest {
	d := archive.DigestOf(p, []byte(content))
	return &d
}

func TestManifestChecks(t *testing.T) {
	k := newKey(t, "k1")
	const o = "host-a"
	a, b, c := archive.CheckpointPath(o, 1, 1), archive.CheckpointPath(o, 1, 2), archive.CheckpointPath(o, 1, 3)
	for _, tc := range []struct {
		name      string
		manifests func() []ManifestFile
		files     []CoveredFile
		want      []string
	}{
		{"intact", func() []ManifestFile {
			return manifestChain(t, k, o, []archive.Digest{*digest(a, "a")}, []archive.Digest{*digest(b, "b")})
		}, []CoveredFile{{Path: a, Digest: digest(a, "a")}, {Path: b, Digest: digest(b, "b")}}, nil},
		{"first manifest deleted", func() []ManifestFile {
			return manifestChain(t, k, o, []archive.Digest{*digest(a, "a")}, []archive.Digest{*digest(b, "b")})[1:]
		}, []CoveredFile{{Path: b, Digest: digest(b, "b")}}, []string{KindManifestChain}},
		{"fork: manifest 1 of another chain", func() []ManifestFile {
			one := manifestChain(t, k, o, []archive.Digest{*digest(a, "a")}, []archive.Digest{*digest(b, "b")})
			other := manifestChain(t, k, o, []archive.Digest{*digest(a, "a2")}, []archive.Digest{*digest(b, "b")})
			return []ManifestFile{one[0], other[1]}
		}, []CoveredFile{{Path: a, Digest: digest(a, "a")}, {Path: b, Digest: digest(b, "b")}}, []string{KindManifestChain}},
		{"one path, two signed digests", func() []ManifestFile {
			return manifestChain(t, k, o, []archive.Digest{*digest(a, "a")}, []archive.Digest{*digest(a, "a2")})
		}, []CoveredFile{{Path: a, Digest: digest(a, "a")}}, []string{KindManifestConflict}},
		{"listed, unreadable", func() []ManifestFile {
			return manifestChain(t, k, o, []archive.Digest{*digest(a, "a")})
		}, []CoveredFile{{Path: a, Err: archive.ErrNotRegular}}, []string{KindUnreadableFile}},
		{"not listed, other size", func() []ManifestFile {
			return manifestChain(t, k, o, []archive.Digest{*digest(a, "a")})
		}, []CoveredFile{{Path: a, Digest: digest(a, "ab")}, {Path: c, Digest: digest(c, "c")}}, []string{KindModifiedFile, KindUncoveredFile}},
		{"unreadable manifest", func() []ManifestFile {
			return []ManifestFile{{Path: archive.ManifestPath(o, 0), Err: archive.ErrTooLarge}}
		}, []CoveredFile{{Path: a, Digest: digest(a, "a")}}, []string{KindManifestInvalid, KindUncoveredFile}},
		{"stray file under manifests", func() []ManifestFile {
			m := manifestChain(t, k, o, []archive.Digest{*digest(a, "a")})
			return append(m, ManifestFile{Path: archive.ManifestsDir + "/" + o + "/x", Data: []byte("x")})
		}, []CoveredFile{{Path: a, Digest: digest(a, "a")}}, []string{KindManifestInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := checkBoth(t, Input{Trusted: note.VerifierList(k.verifier), Manifests: tc.manifests(), Covered: tc.files})
			got := kinds(rep.Problems)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("problems %v, want kinds %v", rep.Problems, want)
			}
		})
	}
}
