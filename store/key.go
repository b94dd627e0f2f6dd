package store

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFileName is the file in the data directory that holds the generated
// secret key when VITRINE_SECRET_KEY is not set.
const KeyFileName = "secret.key"

const keyFormats = "32 random bytes encoded as base64 (44 characters, e.g. `openssl rand -base64 32`) " +
	"or hex (64 characters, `openssl rand -hex 32`)"

// LoadOrCreateKey returns the 32-byte secret key that encrypts the token.
//
// envKey is the value of VITRINE_SECRET_KEY ("" when unset): base64 (standard
// or URL alphabet, padded or not) or hex of exactly 32 bytes. When it is empty
// the key lives in dataDir/secret.key, generated on first start. The file is
// written next to its final name and hard-linked into place, so two processes
// starting at once agree on one key, and a reader never sees half a file.
// Errors never contain the key material.
func LoadOrCreateKey(dataDir, envKey string) ([]byte, error) {
	if envKey != "" {
		key, err := parseKey(envKey)
		if err != nil {
			return nil, fmt.Errorf("store: VITRINE_SECRET_KEY must be %s; %w", keyFormats, err)
		}
		return key, nil
	}
	if dataDir == "" {
		return nil, errors.New("store: no data directory to keep " + KeyFileName + " in, and VITRINE_SECRET_KEY is not set")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, KeyFileName)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(dataDir, path)
	}
	return key, err
}

// LoadKey is LoadOrCreateKey for a command that only reads: a missing
// key file is an error, not made, as a new key would make the stored
// token undecryptable for the server too.
func LoadKey(dataDir, envKey string) ([]byte, error) {
	if envKey != "" || dataDir == "" {
		return LoadOrCreateKey(dataDir, envKey)
	}
	path := filepath.Join(dataDir, KeyFileName)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: no %s in %s, and VITRINE_SECRET_KEY is not set", KeyFileName, dataDir)
	}
	return key, err
}

// parseKey decodes an encoded 32-byte key. Its errors describe the shape of
// the input, never its content.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s) // values from files and shells often end in a newline
	if s == "" {
		return nil, errors.New("it is blank")
	}
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	decodedLen := -1
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) == KeySize {
			return key, nil
		}
		decodedLen = len(key)
	}
	if decodedLen >= 0 {
		return nil, fmt.Errorf("it decodes to %d bytes", decodedLen)
	}
	return nil, fmt.Errorf("it is %d characters of neither base64 nor hex", len(s))
}

// readKeyFile reads a key written by createKeyFile (base64 text) or a raw
// 32-byte file, refusing one that others could read.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("store: read secret key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: read secret key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: secret key %s is not a regular file", path)
	}
	// Unix permissions only: Windows reports made-up mode bits.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("store: secret key %s has mode %04o; it must be accessible by its owner only (chmod 600 %s)",
			path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("store: read secret key: %w", err)
	}
	if len(data) == KeySize {
		return data, nil
	}
	key, err := parseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("store: secret key %s must hold %s (or exactly 32 raw bytes); %w", path, keyFormats, err)
	}
	return key, nil
}

// createKeyFile generates a key and publishes it at path unless another
// process got there first, in which case that process's key wins.
func createKeyFile(dir, path string) ([]byte, error) {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // never fails; see crypto/rand.Read

	// CreateTemp makes the file 0600 from the start: the key is never
	// readable by others, not even for a moment.
	tmp, err := os.CreateTemp(dir, ".secret.key.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("store: create secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Base64 text, the same form VITRINE_SECRET_KEY takes, so the key can be
	// moved into the environment with `cat`.
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync() // the content must be on disk before the name is
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("store: write secret key: %w", err)
	}

	// link, unlike rename, fails when the name exists: the first starter's
	// key is never replaced by a later one.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("store: create secret key: %w", err)
	}
	syncDir(dir)
	return key, nil
}

// syncDir makes a new directory entry durable. Best effort: some systems
// can't fsync a directory, and the key is already safely in its file.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
