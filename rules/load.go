// Package rules is septa's policy language: it reads a directory of TOML
// policy files and an inventory, validates them, reporting every problem
// as FILE:LINE:COL, and compiles them into the IR of package rules/ir. A
// policy that does not validate produces no IR.
//
// It imports the standard library, BurntSushi/toml and rules/ir only.
package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/septa-fw/septa/rules/ir"
)

// DefaultDir is where septad looks for the policy.
const DefaultDir = "/etc/septa/policy.d"

// File is one policy file: its name as the user knows it (used in error
// positions) and its content.
type File struct {
	Name string
	Data []byte
}

// Options tune a load.
type Options struct {
	// Inventory supplies the hosts that groups select by tag; nil for none.
	Inventory *Inventory
	// Now decides which rules have expired; zero means time.Now.
	Now time.Time
	// Dir is the policy directory, for signature paths relative to it and
	// for checking that signature files exist; empty skips both.
	Dir string
}

// Result is a compiled policy with the warnings found on the way and the
// sources it came from (for error excerpts).
type Result struct {
	Policy   *ir.Policy
	Warnings []*Warning
	Sources  map[string][]byte
}

// maxFileSize bounds a policy file: anything larger is a mistake.
const maxFileSize = 16 << 20

// Load reads every *.toml file of dir in lexical order and compiles them.
func Load(dir string, opts Options) (*Result, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		opts.Dir = dir
	}
	return Compile(files, opts)
}

// ReadDir reads the *.toml files of a policy directory in lexical order.
// Names are as the user gave dir, joined with the file name.
func ReadDir(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var files []File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		name := filepath.Join(dir, e.Name())
		info, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		if info.Size() > maxFileSize {
			return nil, fmt.Errorf("policy: %s: larger than %d bytes", name, maxFileSize)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		files = append(files, File{Name: name, Data: data})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("policy: %s: no *.toml files", dir)
	}
	return files, nil
}

// ErrInvalid is wrapped by the error of a policy that does not validate.
var ErrInvalid = errors.New("invalid policy")

// Compile validates and compiles policy files, taken in the order given.
// On any error it returns no policy and every error found, as an
// ErrorList; errors.Is(err, ErrInvalid) holds.
func Compile(files []File, opts Options) (*Result, error) {
	res := &Result{Sources: map[string][]byte{}}
	errs := &errorsf{}
	src := newSource()
	for _, f := range files {
		res.Sources[f.Name] = f.Data
		src.readFile(f.Name, f.Data, errs)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &compiler{src: src, inv: opts.Inventory, errs: errs, now: now, dir: opts.Dir}
	p := c.compile()
	sortErrors(c.warns)
	res.Warnings = c.warns
	if err := errs.result(); err != nil {
		return res, &InvalidError{List: err.(ErrorList)}
	}
	res.Policy = p
	return res, nil
}

// InvalidError is the error of a policy that does not validate.
type InvalidError struct {
	List ErrorList
}

func (e *InvalidError) Error() string { return e.List.Error() }

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Unwrap exposes each error.
func (e *InvalidError) Unwrap() []error { return e.List.Unwrap() }
