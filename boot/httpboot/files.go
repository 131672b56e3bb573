package httpboot

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// serveBinary answers GET /<file>: a regular file under Config.Root,
// opened through os.Root (no "..", absolute path or symbolic link leads
// out of it), with Range and conditional requests (http.ServeContent).
func (s *Server) serveBinary(x *exchange, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	x.file = shorten(name)
	if name == "" || strings.ContainsAny(name, "\\\x00") || !filepath.IsLocal(name) {
		s.refuse(x, http.StatusForbidden, reasonOutsideRoot, "forbidden: outside the served directory")
		return
	}
	root, err := os.OpenRoot(s.cfg.Root)
	if err != nil {
		x.err = err
		s.refuse(x, http.StatusInternalServerError, "", "server error: cannot open the served directory")
		return
	}
	defer func() { _ = root.Close() }()
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		code, reason, msg := openError(err)
		if reason == "" {
			x.err = err
		}
		s.refuse(x, code, reason, msg)
		return
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		x.err = err
		s.refuse(x, http.StatusInternalServerError, "", "server error")
		return
	}
	if !fi.Mode().IsRegular() {
		s.refuse(x, http.StatusForbidden, reasonNotAFile, "forbidden: not a regular file")
		return
	}
	x.w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(x.w, r, fi.Name(), fi.ModTime(), f)
}

// openError sorts an error of os.Root.OpenFile into an answer; reason is
// "" for the server's own trouble.
func openError(err error) (code int, reason, msg string) {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP):
		return http.StatusNotFound, reasonNotFound, "not found"
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden, reasonPermission, "forbidden: permission denied"
	case !errors.As(err, &errno):
		// Not the system's error but os.Root's own: the name resolves,
		// through a symbolic link, to a place outside the root.
		return http.StatusForbidden, reasonOutsideRoot, "forbidden: outside the served directory"
	}
	return http.StatusInternalServerError, "", "server error"
}
