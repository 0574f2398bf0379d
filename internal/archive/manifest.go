package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// A manifest is a signed note (golang.org/x/mod/sumdb/note, the C2SP
// signed-note format) that the writer stores after each seal at
// manifests/<origin>/<seq>. Its text, byte by byte:
//
//	govaudit.dev/manifest/v1\n
//	origin <origin>\n
//	seq <seq>\n
//	previous <64 lowercase hex>\n          (only when seq > 0)
//	<64 lowercase hex> <size> <path>\n     (one or more, paths strictly ascending)
//
// followed by the note's blank line and signature lines. <origin> is a
// collector origin (auditlog.ValidOrigin); <seq> and <size> are canonical
// decimal numbers (no sign, no leading zero); previous is the SHA-256 of the
// whole file manifests/<origin>/<seq-1> (text and signatures), which chains
// the manifests of one origin as CloudTrail's digest files are chained; each
// file line is the SHA-256 and byte size of the file at <path>, a path
// relative to the archive root of one of the forms
//
//	records/origin=<origin>/date=<YYYY-MM-DD>/<name>.parquet   (ParseDataPath)
//	index/origin=<origin>/date=<YYYY-MM-DD>/<name>.json        (IndexPath of a data path)
//	checkpoints/<origin>/<epoch>/<size>                        (ParseCheckpointPath)
//
// always of the manifest's own origin. The first line differs from any
// checkpoint's origin line in form (it holds a "/" followed by a non-number)
// and the second line is not a decimal tree size, so a manifest never parses
// as a checkpoint and a checkpoint never parses as a manifest, although one
// key signs both. docs/verification.md has a worked example.
//
// A parser accepts exactly this grammar: no other line, no trailing space,
// no CR, no duplicate or unsorted path, at most MaxManifestFileSize bytes.

// ManifestHeader is the first line of a manifest's text (without newline). A
// breaking change of the format gets a new header.
const ManifestHeader = "govaudit.dev/manifest/v1"

// MaxManifestFileSize bounds a manifest file. A seal lists its data file,
// its index and its checkpoint files, about 130 bytes each.
const MaxManifestFileSize = 64 << 20

// ManifestFiles returns the path (relative to root) of every file under
// manifests/, sorted by origin, then seq numerically; files without the
// manifest path shape are listed last, so that a caller sees them.
func ManifestFiles(root string) ([]string, error) {
	return listNumbered(root, ManifestsDir, func(p string) (string, []uint64, error) {
		o, seq, err := ParseManifestPath(p)
		return o, []uint64{seq}, err
	})
}

// ReadManifestFile reads a manifest file at rel with ReadRegular and the cap
// MaxManifestFileSize.
func ReadManifestFile(root, rel string) ([]byte, error) {
	return ReadRegular(root, rel, MaxManifestFileSize)
}

// CoveredFiles returns the path (relative to root) of every file that a
// manifest must list: everything under records/ and index/, and under
// checkpoints/ except each origin's latest pointer (replaced at every seal,
// and itself a signed checkpoint). Hidden and private names ("." or "_"
// prefix: temporary files) are skipped, as DataFiles skips them; symbolic
// links and special files are listed. Sorted.
func CoveredFiles(root string) ([]string, error) {
	var out []string
	for _, dir := range []string{RecordsDir, IndexDir, CheckpointsDir} {
		fs, err := listFiles(root, dir, "")
		if err != nil {
			return nil, err
		}
		for _, p := range fs {
			if dir == CheckpointsDir && path.Base(p) == LatestName && strings.Count(p, "/") == 2 {
				continue
			}
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// A Digest is the SHA-256 and size of one file of the archive.
type Digest struct {
	Path   string
	Size   int64
	SHA256 [sha256.Size]byte
}

// DigestOf returns the digest of data, the bytes of the file at rel.
func DigestOf(rel string, data []byte) Digest {
	return Digest{Path: rel, Size: int64(len(data)), SHA256: sha256.Sum256(data)}
}

// A Manifest is the content of a manifest file.
type Manifest struct {
	Origin string
	Seq    uint64
	// Previous is the SHA-256 of manifest Seq-1 of Origin; zero when Seq is 0.
	Previous [sha256.Size]byte
	// Files are sorted by Path, without duplicates, at least one.
	Files []Digest
}

// FormatManifest returns the note text of m. It checks m as ParseManifest
// would.
func FormatManifest(m Manifest) (string, error) {
	var b strings.Builder
	b.WriteString(ManifestHeader + "\n")
	fmt.Fprintf(&b, "origin %s\nseq %d\n", m.Origin, m.Seq)
	if m.Seq > 0 {
		fmt.Fprintf(&b, "previous %x\n", m.Previous)
	}
	for _, f := range m.Files {
		fmt.Fprintf(&b, "%x %d %s\n", f.SHA256, f.Size, f.Path)
	}
	text := b.String()
	if _, err := ParseManifest(text); err != nil {
		return "", err
	}
	return text, nil
}

// ParseManifest parses the note text (without signatures) of a manifest,
// accepting exactly the grammar in the package's manifest documentation.
func ParseManifest(text string) (Manifest, error) {
	var m Manifest
	fail := func(line int, format string, args ...any) (Manifest, error) {
		return Manifest{}, fmt.Errorf("manifest line %d: %s", line, fmt.Sprintf(format, args...))
	}
	if len(text) > MaxManifestFileSize {
		return Manifest{}, fmt.Errorf("manifest: %w", ErrTooLarge)
	}
	if !utf8.ValidString(text) || !strings.HasSuffix(text, "\n") {
		return Manifest{}, errors.New("manifest: not UTF-8 text ending in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || lines[0] != ManifestHeader {
		return fail(1, "want %q and at least origin, seq and one file", ManifestHeader)
	}
	o, ok := strings.CutPrefix(lines[1], "origin ")
	if !ok || auditlog.ValidOrigin(o) != nil {
		return fail(2, "want \"origin <origin>\"")
	}
	m.Origin = o
	s, ok := strings.CutPrefix(lines[2], "seq ")
	seq, err := parseCanonical(s)
	if !ok || err != nil {
		return fail(3, "want \"seq <canonical decimal>\"")
	}
	m.Seq = seq
	rest := lines[3:]
	if seq > 0 {
		p, ok := strings.CutPrefix(rest[0], "previous ")
		if !ok || parseHash(p, &m.Previous) != nil {
			return fail(4, "want \"previous <64 lowercase hex>\" when seq > 0")
		}
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return fail(len(lines), "no file listed")
	}
	first := len(lines) - len(rest) + 1
	for i, l := range rest {
		f, err := parseFileLine(m.Origin, l)
		if err != nil {
			return fail(first+i, "%v", err)
		}
		if i > 0 && f.Path <= m.Files[i-1].Path {
			return fail(first+i, "path %q is not after %q: paths must be strictly ascending", f.Path, m.Files[i-1].Path)
		}
		m.Files = append(m.Files, f)
	}
	return m, nil
}

func parseHash(s string, out *[sha256.Size]byte) error {
	if len(s) != 2*sha256.Size || strings.ToLower(s) != s {
		return errors.New("not 64 lowercase hex digits")
	}
	_, err := hex.Decode(out[:], []byte(s))
	return err
}

// parseFileLine parses "<hex> <size> <path>" for a manifest of origin.
func parseFileLine(origin, l string) (Digest, error) {
	var d Digest
	parts := strings.Split(l, " ")
	if len(parts) != 3 {
		return d, errors.New("want \"<sha256 hex> <size> <path>\"")
	}
	if err := parseHash(parts[0], &d.SHA256); err != nil {
		return d, fmt.Errorf("sha256: %v", err)
	}
	n, err := parseCanonical(parts[1])
	if err != nil || n > 1<<62 {
		return d, errors.New("size must be a canonical decimal number")
	}
	d.Size, d.Path = int64(n), parts[2]
	o, err := coveredOrigin(d.Path)
	if err != nil {
		return d, err
	}
	if o != origin {
		return d, fmt.Errorf("path %q belongs to origin %s, not %s", d.Path, o, origin)
	}
	return d, nil
}

// OriginOf returns the origin a path of the archive belongs to: a data
// file, its index, a checkpoint file or latest pointer, or a manifest.
func OriginOf(p string) (string, error) {
	switch {
	case strings.HasPrefix(p, ManifestsDir+"/"):
		o, _, err := ParseManifestPath(p)
		return o, err
	case strings.HasPrefix(p, CheckpointsDir+"/") && path.Base(p) == LatestName && strings.Count(p, "/") == 2:
		return strings.Split(p, "/")[1], nil
	}
	return coveredOrigin(p)
}

// coveredOrigin returns the origin of a path a manifest may list: a data
// file, its index or a checkpoint file.
func coveredOrigin(p string) (string, error) {
	switch {
	case strings.HasPrefix(p, RecordsDir+"/"):
		o, _, err := ParseDataPath(p)
		return o, err
	case strings.HasPrefix(p, IndexDir+"/") && strings.HasSuffix(p, IndexExt):
		data := RecordsDir + "/" + strings.TrimSuffix(strings.TrimPrefix(p, IndexDir+"/"), IndexExt) + DataExt
		o, _, err := ParseDataPath(data)
		if err != nil || IndexPath(data) != p {
			return "", fmt.Errorf("index file %q: not the index path of a data file", p)
		}
		return o, nil
	case strings.HasPrefix(p, CheckpointsDir+"/"):
		o, _, _, err := ParseCheckpointPath(p)
		return o, err
	}
	return "", fmt.Errorf("path %q is not a data, index or checkpoint file path", p)
}

// OpenManifest verifies the signed manifest file data with the trusted keys
// and parses it. Its errors are those of note.Open (such as
// *note.UnverifiedNoteError for an unknown key, a bad signature or a
// malformed note) or wrap ErrMalformedManifest.
func OpenManifest(data []byte, trusted note.Verifiers) (Manifest, *note.Note, error) {
	if len(data) > MaxManifestFileSize {
		return Manifest{}, nil, fmt.Errorf("%w: %w", ErrMalformedManifest, ErrTooLarge)
	}
	n, err := note.Open(data, trusted)
	if err != nil {
		return Manifest{}, nil, err
	}
	m, err := ParseManifest(n.Text)
	if err != nil {
		return Manifest{}, n, fmt.Errorf("%w: %v", ErrMalformedManifest, err)
	}
	return m, n, nil
}

// ErrMalformedManifest wraps the errors of OpenManifest for a correctly
// signed note whose text is not a manifest, or a file over the size cap.
var ErrMalformedManifest = errors.New("malformed manifest")

// SignManifest formats m and signs it: the bytes of its manifest file.
func SignManifest(signer note.Signer, m Manifest) ([]byte, error) {
	text, err := FormatManifest(m)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: text}, signer)
}

// A ManifestHead is the newest manifest of one origin, as the writer needs
// it to chain the next one.
type ManifestHead struct {
	// Next is the seq of the next manifest: 0 when origin has none.
	Next uint64
	// SHA256 is the digest of the newest manifest's file (when Next > 0).
	SHA256 [sha256.Size]byte
	// Files are the files the newest manifest lists.
	Files []Digest
}

// Lists reports whether the newest manifest lists the file at p.
func (h ManifestHead) Lists(p string) bool {
	for _, f := range h.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// ReadManifestHead reads the newest manifest of origin under root (the one
// with the largest seq). The writer trusts its own archive here: it does not
// verify the signature, only the format.
func ReadManifestHead(root, origin string) (ManifestHead, error) {
	dir := filepath.Join(root, ManifestsDir, origin)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return ManifestHead{}, nil
	}
	if err != nil {
		return ManifestHead{}, err
	}
	found, top := false, uint64(0)
	for _, e := range ents {
		if s, err := parseCanonical(e.Name()); err == nil && (!found || s > top) {
			found, top = true, s
		}
	}
	if !found {
		return ManifestHead{}, nil
	}
	rel := ManifestPath(origin, top)
	data, err := ReadManifestFile(root, rel)
	if err != nil {
		return ManifestHead{}, err
	}
	text := data
	if i := bytes.LastIndex(data, []byte("\n\n")); i >= 0 {
		text = data[:i+1]
	}
	m, err := ParseManifest(string(text))
	if err != nil {
		return ManifestHead{}, fmt.Errorf("%s: %w", rel, err)
	}
	if m.Origin != origin || m.Seq != top {
		return ManifestHead{}, fmt.Errorf("%s: holds manifest %d of origin %s", rel, m.Seq, m.Origin)
	}
	return ManifestHead{Next: top + 1, SHA256: sha256.Sum256(data), Files: m.Files}, nil
}

// nextManifest returns the path and signed bytes of the manifest that
// follows head for origin, listing the files at paths (relative to root),
// each read (ReadRegular, with the cap of its kind) and hashed now, for
// SignUnlisted. The exporter hashes its files while it writes them and
// calls SignNextManifest.
func nextManifest(root string, signer note.Signer, origin string, head ManifestHead, paths []string) (string, []byte, error) {
	var files []Digest
	for _, p := range paths {
		max := int64(MaxCheckpointFileSize)
		switch {
		case strings.HasPrefix(p, RecordsDir+"/"):
			max = MaxDataFileSize
		case strings.HasPrefix(p, IndexDir+"/"):
			max = MaxIndexFileSize
		}
		data, err := ReadRegular(root, p, max)
		if err != nil {
			return "", nil, fmt.Errorf("manifest of origin %s: %w", origin, err)
		}
		files = append(files, DigestOf(p, data))
	}
	rel, b, _, err := SignNextManifest(signer, origin, head, files)
	return rel, b, err
}

// SignNextManifest returns the path and signed bytes of the manifest that
// follows head for origin, listing files (sorted here; a path listed twice
// is listed once), and the head that manifest makes once it is written.
func SignNextManifest(signer note.Signer, origin string, head ManifestHead, files []Digest) (string, []byte, ManifestHead, error) {
	m := Manifest{Origin: origin, Seq: head.Next, Previous: head.SHA256}
	if head.Next == 0 {
		m.Previous = [sha256.Size]byte{}
	}
	fs := append([]Digest(nil), files...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	for i, f := range fs {
		if i > 0 && f.Path == fs[i-1].Path {
			continue
		}
		m.Files = append(m.Files, f)
	}
	b, err := SignManifest(signer, m)
	if err != nil {
		return "", nil, ManifestHead{}, fmt.Errorf("manifest %d of origin %s: %w", m.Seq, origin, err)
	}
	return ManifestPath(origin, m.Seq), b, ManifestHead{Next: m.Seq + 1, SHA256: sha256.Sum256(b), Files: m.Files}, nil
}

// writeManifest writes the manifest that follows the newest one of origin,
// listing paths: nextManifest, then WriteFileAtomic (mode 0444).
func writeManifest(root string, signer note.Signer, origin string, paths []string) error {
	if IsRemote(root) {
		return fmt.Errorf("writing a manifest in %s: %w", root, errRemoteWrite)
	}
	head, err := ReadManifestHead(root, origin)
	if err != nil {
		return err
	}
	rel, b, err := nextManifest(root, signer, origin, head, paths)
	if err != nil {
		return err
	}
	full := filepath.Join(root, filepath.FromSlash(rel))
	if err := MkdirAll(filepath.Dir(full)); err != nil {
		return err
	}
	return WriteFileAtomic(full, b, 0o444)
}

// SignUnlisted writes, for each origin, one manifest listing every file of
// that origin under records/, index/ and checkpoints/ that no manifest of
// the archive lists yet (manifests are parsed, not verified). Files whose
// path belongs to no origin cannot be listed and are skipped. It is for
// tools and tests that write archives without the exporter.
func SignUnlisted(root string, signer note.Signer) error {
	listed := map[string]bool{}
	mfs, err := ManifestFiles(root)
	if err != nil {
		return err
	}
	for _, p := range mfs {
		data, err := ReadManifestFile(root, p)
		if err != nil {
			return err
		}
		if i := bytes.LastIndex(data, []byte("\n\n")); i >= 0 {
			data = data[:i+1]
		}
		m, err := ParseManifest(string(data))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, f := range m.Files {
			listed[f.Path] = true
		}
	}
	all, err := CoveredFiles(root)
	if err != nil {
		return err
	}
	byOrigin := map[string][]string{}
	var origins []string
	for _, p := range all {
		o, err := coveredOrigin(p)
		if err != nil || listed[p] {
			continue
		}
		if byOrigin[o] == nil {
			origins = append(origins, o)
		}
		byOrigin[o] = append(byOrigin[o], p)
	}
	sort.Strings(origins)
	for _, o := range origins {
		if err := writeManifest(root, signer, o, byOrigin[o]); err != nil {
			return err
		}
	}
	return nil
}
