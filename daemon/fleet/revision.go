package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/septa-fw/septa/rules"
)

// Revision is one push of a policy directory: every file of it, in
// lexical order, as one value. Revisions count up from 1; a rollback
// publishes an earlier revision's files as a new revision.
type Revision struct {
	Rev    uint64    `json:"rev"`
	Time   time.Time `json:"time"`
	Author string    `json:"author,omitempty"`
	// RollbackOf is the revision whose files a rollback republished.
	RollbackOf uint64 `json:"rollback_of,omitempty"`
	Files      []File `json:"files"`
}

// File is one policy file of a revision; Name is the base name
// ("20-web.toml") and the name errors are reported under.
type File struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

// Limits of a revision: etcd's default request limit is 1.5 MiB, and a
// value must fit in one request.
const (
	maxRevisionBytes = 1 << 20
	maxFiles         = 256
)

// NewRevision makes a revision from policy files read with rules.ReadDir;
// names lose their directory, so that errors read the same on every host.
func NewRevision(files []rules.File) (*Revision, error) {
	r := &Revision{}
	for _, f := range files {
		r.Files = append(r.Files, File{Name: path.Base(strings.ReplaceAll(f.Name, "\\", "/")), Data: string(f.Data)})
	}
	return r, r.check()
}

// RulesFiles returns the revision's files for rules.Compile.
func (r *Revision) RulesFiles() []rules.File {
	out := make([]rules.File, len(r.Files))
	for i, f := range r.Files {
		out[i] = rules.File{Name: f.Name, Data: []byte(f.Data)}
	}
	return out
}

// Digest is a short hash of the files (not of the revision number): two
// revisions with the same digest hold the same policy.
func (r *Revision) Digest() string {
	h := sha256.New()
	for _, f := range r.Files {
		fmt.Fprintf(h, "%d:%s%d:", len(f.Name), f.Name, len(f.Data))
		h.Write([]byte(f.Data))
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Compile validates and compiles the revision as septa check and septad
// do with local files.
func (r *Revision) Compile(inv *rules.Inventory) (*rules.Result, error) {
	return rules.Compile(r.RulesFiles(), rules.Options{Inventory: inv})
}

func (r *Revision) check() error {
	if len(r.Files) == 0 {
		return errors.New("revision: no policy files")
	}
	if len(r.Files) > maxFiles {
		return fmt.Errorf("revision: %d files, more than %d", len(r.Files), maxFiles)
	}
	size := 0
	for i, f := range r.Files {
		if f.Name == "" || f.Name != path.Base(f.Name) || strings.HasPrefix(f.Name, ".") || !strings.HasSuffix(f.Name, ".toml") {
			return fmt.Errorf("revision: file name %q is not a *.toml base name", f.Name)
		}
		if i > 0 && r.Files[i-1].Name >= f.Name {
			return fmt.Errorf("revision: file %q is out of order or repeated", f.Name)
		}
		size += len(f.Name) + len(f.Data)
	}
	if size > maxRevisionBytes {
		return fmt.Errorf("revision: %d bytes, more than %d", size, maxRevisionBytes)
	}
	return nil
}

// Encode returns the stored value of a revision.
func (r *Revision) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// DecodeRevision parses a stored revision. Unknown fields, trailing data
// and a revision that breaks the limits are errors.
func DecodeRevision(data []byte) (*Revision, error) {
	if len(data) > 2*maxRevisionBytes {
		return nil, fmt.Errorf("revision: %d bytes, more than %d", len(data), 2*maxRevisionBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Revision
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("revision: %w", err)
	}
	if dec.More() {
		return nil, errors.New("revision: trailing data after the value")
	}
	if r.Rev == 0 {
		return nil, errors.New("revision: rev 0")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// RevisionNumber reads only the "rev" field of a stored value, for
// reporting a revision that does not decode; 0 when even that fails.
func RevisionNumber(data []byte) uint64 {
	var r struct {
		Rev uint64 `json:"rev"`
	}
	if json.Unmarshal(data, &r) != nil {
		return 0
	}
	return r.Rev
}
