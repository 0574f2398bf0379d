package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/verify"
)

// maxExternalCheckpoint bounds what is read of a checkpoint file given with
// --checkpoints. A signed note is a few hundred bytes and auditlog parses at
// most 16 KiB: a longer file is read only up to this cap, and verify reports
// it as a checkpoint that does not verify.
const maxExternalCheckpoint = 64 << 10

// errNoArchive is returned by checkArchive for a path that holds no archive.
var errNoArchive = errors.New("no archive at")

// checkArchive returns an error unless root is a directory holding an
// archive: a records/, checkpoints/ or wal/ directory. An empty or mistyped path
// must not verify as an empty archive.
//
// A bucket root (s3://bucket/prefix) holds an archive when an object exists
// under its records/, checkpoints/ or manifests/; an empty or mistyped
// prefix is "no archive at", a malformed URL or an unreachable bucket is
// an error saying why.
func checkArchive(root string) error {
	if archive.IsRemote(root) {
		ok, err := archive.HasArchive(root)
		if err != nil {
			return fmt.Errorf("%w %s: %v", errNoArchive, root, err)
		}
		if !ok {
			return fmt.Errorf("%w %s (no object under %s/, %s/ or %s/)", errNoArchive, root, archive.RecordsDir, archive.CheckpointsDir, archive.ManifestsDir)
		}
		return nil
	}
	fi, err := os.Stat(root)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("%w %s", errNoArchive, root)
	}
	if isArchive(root) {
		return nil
	}
	// The parent of an archive (the quickstart's data/ for data/audit):
	// name the archive below it.
	if entries, err := os.ReadDir(root); err == nil && len(entries) <= 1000 {
		for _, e := range entries {
			if sub := filepath.Join(root, e.Name()); e.IsDir() && isArchive(sub) {
				return fmt.Errorf("%w %s (no %s/, %s/ or %s/ directory); did you mean %s?", errNoArchive, root, archive.RecordsDir, archive.CheckpointsDir, archive.WALDir, sub)
			}
		}
	}
	return fmt.Errorf("%w %s (no %s/, %s/ or %s/ directory)", errNoArchive, root, archive.RecordsDir, archive.CheckpointsDir, archive.WALDir)
}

// isArchive reports whether dir has a records/, checkpoints/ or wal/
// directory (an archive whose first file is not sealed yet has only wal/).
func isArchive(dir string) bool {
	ok, _ := archive.HasArchive(dir)
	return ok
}

// readExternal reads the checkpoints kept outside the archive, given by
// --checkpoints: each path is a file holding one signed checkpoint note, or
// a directory whose files (at any depth) each hold one. Only regular files
// are read: a named pipe, device or symbolic link met in a directory is an
// error naming it, never opened. A path naming no checkpoint file at all is
// an error too, so a mistyped directory is not silently a check of nothing.
func readExternal(paths []string) ([]verify.ExternalCheckpoint, error) {
	var out []verify.ExternalCheckpoint
	add := func(p string) error {
		text, err := readRegular(p)
		if err != nil {
			return err
		}
		out = append(out, verify.ExternalCheckpoint{Path: p, Text: text})
		return nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if err := add(p); err != nil {
				return nil, err
			}
			continue
		}
		n := len(out)
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: not a regular file", path)
			}
			return add(path)
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no checkpoint file in the directory", p)
		}
	}
	return out, nil
}

// readRegular reads at most maxExternalCheckpoint+1 bytes of a regular file. It opens without blocking (a FIFO swapped in after the walk opens
// and is refused by the check on the open file) and reads nothing from a
// device.
func readRegular(p string) (string, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxExternalCheckpoint+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return string(b), nil
}
