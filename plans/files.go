package plans

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize is the most drplan reads of any one file it is given: a plan
// file, a -var-file or a file named by file(). 16 MiB is far more than a
// plan of 100,000 VMs needs, and bounds the memory a mistaken or hostile
// path (a link to /dev/zero, a growing log) can take.
const MaxFileSize = 16 << 20

// FileError says why a file was not read: it is not a regular file, or it
// is larger than MaxFileSize.
type FileError struct {
	Path string
	// What is what the file is instead ("a named pipe (FIFO)"), or "" when
	// it is a regular file that is too large.
	What string
	// Size is the size seen (at least MaxFileSize+1) when the file is too
	// large, otherwise 0.
	Size int64
}

func (e *FileError) Error() string {
	if e.What != "" {
		return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.What)
	}
	return fmt.Sprintf("%s is %s, larger than %s", e.Path, e.sizeText(), sizeText(MaxFileSize))
}

// sizeText is the size of a file too large: exact when Stat gave it, "over
// 16 MiB" when the file grew past the limit while it was read.
func (e *FileError) sizeText() string {
	if e.Size <= MaxFileSize+1 {
		return "over " + sizeText(MaxFileSize)
	}
	return sizeText(e.Size)
}

// TooLarge reports whether the file was refused for its size.
func (e *FileError) TooLarge() bool { return e.What == "" }

// ReadFile reads the file name if it is a regular file, or a symbolic link
// to one, of at most MaxFileSize bytes. Anything else is a *FileError:
// named pipes, devices, sockets and directories are refused before they are
// opened for reading, so that reading never blocks on a FIFO nor runs on
// without end from a device; and no more than MaxFileSize bytes are read
// even from a file that grows while it is read.
func ReadFile(name string) ([]byte, error) {
	info, err := os.Stat(name) // follows symbolic links
	if err != nil {
		return nil, err
	}
	if err := checkRegular(name, info); err != nil {
		return nil, err
	}
	// O_NONBLOCK: should the file have been swapped for a FIFO since the
	// Stat, opening it returns at once rather than waiting for a writer;
	// the Stat of the open file below then refuses it. Regular files
	// ignore the flag.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err = f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkRegular(name, info); err != nil {
		return nil, err
	}
	size := info.Size()
	if size < 0 || size > MaxFileSize {
		size = MaxFileSize
	}
	buf := make([]byte, 0, size+1)
	b, err := readAll(io.LimitReader(f, MaxFileSize+1), buf)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: unwrapPathErr(err)}
	}
	if len(b) > MaxFileSize {
		return nil, &FileError{Path: name, Size: max(info.Size(), MaxFileSize+1)}
	}
	return b, nil
}

// checkRegular refuses what is not a regular file, or is too large.
func checkRegular(name string, info fs.FileInfo) error {
	if what := fileKind(info.Mode()); what != "" {
		return &FileError{Path: name, What: what}
	}
	if info.Size() > MaxFileSize {
		return &FileError{Path: name, Size: info.Size()}
	}
	return nil
}

// fileKind names what a file of mode m is, or returns "" for a regular
// file.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return "not a regular file"
	}
}

// readAll reads r to its end into buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// sizeText prints n bytes in MiB (or bytes below 1 MiB).
func sizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
