package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockName is the file, in an archive root, that its one writer holds
// locked (flock, exclusive) from start to shutdown. It holds the writer's
// pid, host name and start time, so that a refused second writer can name
// the holder. The leading "." hides it from archive listers and query
// engines; it is not part of the archive.
const LockName = ".lock"

// ErrLocked is wrapped by Lock's error when another writer holds the lock.
var ErrLocked = errors.New("archive directory in use by another writer")

// A DirLock is the writer's lock on an archive root.
type DirLock struct {
	f *os.File
}

// Lock takes the exclusive, non-blocking lock on root/LockName and writes
// the holder (pid, host name, start time) into it. If another open file
// description holds the lock — another process, or another writer in this
// process — it fails at once with an error wrapping ErrLocked that names
// the directory and the holder. The lock lives as long as the returned
// DirLock (or the process): a killed writer releases it.
func Lock(root string) (*DirLock, error) {
	p := filepath.Join(root, LockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := "unknown holder"
		if b, rerr := os.ReadFile(p); rerr == nil && len(b) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by %s", ErrLocked, root, holder)
		}
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	host, _ := os.Hostname()
	info := "pid=" + strconv.Itoa(os.Getpid()) + " host=" + host + " started=" + time.Now().UTC().Format(time.RFC3339Nano) + "\n"
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(info), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", p, err)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. The file stays: removing it would let a writer
// that opened it before the removal and one that creates it afresh both
// hold "the" lock.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
