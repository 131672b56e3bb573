package schemas

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Errors the inventory's file system gives for what the loader never
// reads. Both come wrapped in an *fs.PathError naming the file.
var (
	// ErrNotRegular is returned for a FIFO, socket, device or other
	// special file: opening or reading one could block forever or never
	// end, so it is refused before it is opened for reading.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is returned for a file over MaxFileBytes.
	ErrTooLarge = errors.New("file too large")
)

// RootFS is a directory of the operating system's files as an fs.FS that
// cannot leave it: every path, however spelt (absolute, "..", through a
// symbolic link), is resolved inside the directory by os.Root, and only
// directories and regular files can be opened.
type RootFS struct{ root *os.Root }

// OpenRoot opens dir for reading; Close it when done.
func OpenRoot(dir string) (*RootFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &RootFS{root: r}, nil
}

// Close releases the directory.
func (f *RootFS) Close() error { return f.root.Close() }

// Open opens a directory or a regular file. The file is opened without
// blocking (a FIFO would block an ordinary open until a writer came) and
// its mode checked on the descriptor, so that nothing but a directory or a
// regular file is ever read. Callers that know an entry's type from its
// directory (as Load's walk does) refuse special files before they open
// them.
func (f *RootFS) Open(name string) (fs.File, error) {
	file, err := f.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if info, err := file.Stat(); err != nil || (!info.Mode().IsRegular() && !info.IsDir()) {
		_ = file.Close()
		if err == nil {
			err = &fs.PathError{Op: "open", Path: name, Err: ErrNotRegular}
		}
		return nil, err
	}
	return file, nil
}

// Stat follows symbolic links inside the directory.
func (f *RootFS) Stat(name string) (fs.FileInfo, error) { return f.root.Stat(name) }

// ReadFileLimited reads the regular file name of fsys, refusing anything
// that is not a regular file (ErrNotRegular) and any file over limit bytes
// (ErrTooLarge), whatever its size claims to be.
func ReadFileLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	if _, ok := fsys.(*RootFS); !ok {
		// Other file systems (a Git tree) may read a file whole when it
		// is opened: check its size first.
		info, err := fs.Stat(fsys, name)
		if err := readable(name, info, err, limit); err != nil {
			return nil, err
		}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err := readable(name, info, err, limit); err != nil {
		return nil, err
	}
	// Read one byte more than the size says, to see a file that grew.
	data := make([]byte, 0, info.Size()+1)
	for int64(len(data)) <= limit {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(int64(cap(data)), limit+1)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
	}
	return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: over %s", ErrTooLarge, sizeText(limit))}
}

// readable refuses a file whose stat (info, err) says it is not a
// regular file, or is over limit bytes.
func readable(name string, info fs.FileInfo, err error, limit int64) error {
	switch {
	case err != nil:
		return err
	case !info.Mode().IsRegular():
		return &fs.PathError{Op: "read", Path: name, Err: ErrNotRegular}
	case info.Size() > limit:
		return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: %s, the limit is %s", ErrTooLarge, sizeText(info.Size()), sizeText(limit))}
	}
	return nil
}

// fileProblem turns an error reading one inventory file into a problem
// for that file when it says something about the file itself (a special
// file, one too large, a link leading out of the root), and returns false
// for the errors that mean the inventory cannot be read at all.
func fileProblem(name string, err error) (Problem, bool) {
	p := Problem{File: name, Rule: RuleFile}
	switch {
	case errors.Is(err, ErrNotRegular):
		p.Message = "not a regular file (a FIFO, socket, device or link to one) is never read; remove it or rename it so it does not end in .yaml or .yml"
	case errors.Is(err, ErrTooLarge):
		p.Rule = RuleLimit
		p.Message = fmt.Sprintf("%s; split the file (an inventory file holds at most %s)", unwrapPath(err), sizeText(MaxFileBytes))
	case isEscape(err):
		p.Message = "a symbolic link leading outside the inventory root is never followed; replace the link with the file"
	default:
		return Problem{}, false
	}
	return p, true
}

// unwrapPath returns the message of err without the path an
// *fs.PathError prefixes.
func unwrapPath(err error) string {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// isEscape reports whether err says a path leaves the root it was
// resolved in: os.Root's "path escapes from parent", or the same from a
// file system that wraps ErrEscapes.
func isEscape(err error) bool {
	if errors.Is(err, ErrEscapes) {
		return true
	}
	pe := (*fs.PathError)(nil)
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent"
}

// ErrEscapes is what a file system given in LoadOptions.FS should wrap
// when a path or a symbolic link leads outside it, so that the loader
// reports the file instead of failing.
var ErrEscapes = errors.New("path escapes from the inventory root")

// StateDirError says why a state directory cannot be used.
type StateDirError struct {
	Dir    string
	Reason string
}

func (e *StateDirError) Error() string {
	return fmt.Sprintf("state directory %q %s", e.Dir, e.Reason)
}

// CheckStateDir checks the name of a state directory: a relative path
// below the inventory root, not the root itself ("", ".", an absolute
// path and one leading out with ".." are refused), since metalgit reads
// everything below the root as inventory but the state directory, and
// writes into the state directory.
func CheckStateDir(dir string) error {
	if dir == "" || filepath.Clean(dir) == "." || !filepath.IsLocal(dir) {
		return &StateDirError{Dir: dir, Reason: "must be a relative path below the inventory root, such as " + DefaultStateDir}
	}
	return nil
}

// CheckStateDirOnDisk checks the state directory dir below root as it is
// on disk before metalgit writes into it: no part of it may be a symbolic
// link or anything but a directory, so that writing the state never
// touches a file outside the inventory root. Parts that do not exist yet
// are fine.
func CheckStateDirOnDisk(root, dir string) error {
	if err := CheckStateDir(dir); err != nil {
		return err
	}
	p := root
	for _, part := range strings.Split(filepath.Clean(dir), string(filepath.Separator)) {
		p = filepath.Join(p, part)
		info, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return &StateDirError{Dir: dir, Reason: err.Error()}
		}
		if !info.IsDir() {
			return &StateDirError{Dir: dir, Reason: fmt.Sprintf("cannot be written: %s is not a directory (a symbolic link is never followed); remove it", p)}
		}
	}
	return nil
}
