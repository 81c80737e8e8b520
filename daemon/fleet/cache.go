package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// cacheFile is where the agent keeps what it last applied, so that a
// septad restarted while etcd is unreachable enforces the same policy,
// inventory and identity as before.
const cacheFile = "fleet-cache.json"

// Cache is the content of the cache file.
type Cache struct {
	Revision   *Revision        `json:"revision"`
	Hosts      []HostRecord     `json:"hosts"`
	Identities []IdentityRecord `json:"identities"`
	// EtcdRevision is the last etcd revision seen.
	EtcdRevision int64 `json:"etcd_revision"`
}

// LoadCache reads the cache of a state directory; a missing file gives
// nil and no error.
func LoadCache(dir string) (*Cache, error) {
	data, err := os.ReadFile(filepath.Join(dir, cacheFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fleet cache: %w", err)
	}
	var c Cache
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("fleet cache %s: %w", filepath.Join(dir, cacheFile), err)
	}
	if c.Revision != nil {
		if err := c.Revision.check(); err != nil {
			return nil, fmt.Errorf("fleet cache: %w", err)
		}
	}
	return &c, nil
}

// SaveCache writes the cache atomically (a new file renamed over the old).
func SaveCache(dir string, c *Cache) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("fleet cache: %w", err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("fleet cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, cacheFile+".*")
	if err != nil {
		return fmt.Errorf("fleet cache: %w", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("fleet cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, cacheFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("fleet cache: %w", err)
	}
	return nil
}
