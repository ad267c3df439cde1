package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// maxLinks bounds how many symbolic links a dangling chain is followed
// through, as the kernel's ELOOP does.
const maxLinks = 40

// WriteFile writes data to name following the package's rules. perm is
// the permission of a file that does not exist yet.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	if name == "" {
		return errors.New("cannot write a file with an empty name")
	}
	target, err := resolve(name)
	if err != nil {
		return err
	}
	st, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return writeAtomic(name, target, data, perm, nil)
	case errors.Is(err, syscall.ENOTDIR):
		return &Error{Path: name, Cause: dirCause(filepath.Dir(target), err)}
	case err != nil:
		return &Error{Path: name, Cause: cause(err)}
	case st.IsDir():
		return &Error{Path: name, Cause: errors.New("it is a directory; give the name of a file")}
	case st.Mode().IsRegular():
		return writeAtomic(name, target, data, st.Mode().Perm(), st)
	default: // a device, a FIFO, a socket
		return writeDirect(name, target, data)
	}
}

// Error is a write that failed: the path the caller gave and why.
type Error struct {
	Path  string
	Cause error
}

func (e *Error) Error() string { return fmt.Sprintf("cannot write %s: %v", e.Path, e.Cause) }
func (e *Error) Unwrap() error { return e.Cause }

// resolve returns the path that a write to name lands on: name itself,
// or, for a symbolic link, the file at the end of its chain.
func resolve(name string) (string, error) {
	st, err := os.Lstat(name)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return name, nil // absent (or unreadable: the write says why)
	}
	if t, err := filepath.EvalSymlinks(name); err == nil {
		return t, nil
	}
	// A dangling link: follow it by hand to the name it points to, which
	// the write creates, as a shell's > would.
	cur := name
	for i := 0; i < maxLinks; i++ {
		st, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return cur, nil
		}
		if err != nil {
			return "", &Error{Path: name, Cause: cause(err)}
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return cur, nil
		}
		link, err := os.Readlink(cur)
		if err != nil {
			return "", &Error{Path: name, Cause: cause(err)}
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(cur), link)
		}
		cur = link
	}
	return "", &Error{Path: name, Cause: errors.New("too many levels of symbolic links")}
}

// writeAtomic writes target through a temporary file in its directory
// and a rename. old is the file being replaced, nil when there is none.
func writeAtomic(name, target string, data []byte, perm os.FileMode, old os.FileInfo) (err error) {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return &Error{Path: name, Cause: dirCause(dir, err)}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	if err = tmp.Chmod(perm); err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	if old != nil {
		if sys, ok := old.Sys().(*syscall.Stat_t); ok {
			tmp.Chown(int(sys.Uid), int(sys.Gid)) // best effort: only root may give a file away
		}
	}
	if err = tmp.Sync(); err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	if err = tmp.Close(); err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	if err = os.Rename(tmp.Name(), target); err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	// The rename is durable once the directory is on disk. Some file
	// systems cannot sync a directory; the file is in place regardless.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeDirect writes to a device, FIFO or socket as it is: no temporary
// file, no creation, no truncation.
func writeDirect(name, target string, data []byte) error {
	f, err := os.OpenFile(target, os.O_WRONLY, 0)
	if err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return &Error{Path: name, Cause: cause(err)}
	}
	if err := f.Close(); err != nil {
		return &Error{Path: name, Cause: cause(err)}
	}
	return nil
}

// cause strips the operation and path from an error of package os, which
// would name the temporary file rather than the one the operator gave.
func cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// dirCause says why a file could not be created in dir.
func dirCause(dir string, err error) error {
	c := cause(err)
	switch {
	case errors.Is(c, syscall.ENOENT):
		return fmt.Errorf("directory %s does not exist", dir)
	case errors.Is(c, syscall.ENOTDIR):
		return fmt.Errorf("%s is not a directory", dir)
	}
	return fmt.Errorf("cannot create a file in directory %s: %v", dir, c)
}
