package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/mykey-jp/mykey/internal/fileperm"
)

// Managed settings override the configuration file, the way a fleet's
// administrator sets them: drop-in files (*.toml, applied in name order)
// in the folder mykey.d beside the configuration file and, on Linux, in
// /etc/mykey/mykey.d; on Windows, then the Group Policy values under
// HKLM\Software\Policies\mykey (policy wins). A key set by a later source
// replaces the earlier value; arrays are replaced, not merged. Relative
// paths are relative to the configuration file's folder.

// DropInDir is the drop-in folder beside a configuration file.
func DropInDir(configFile string) string {
	return filepath.Join(filepath.Dir(configFile), "mykey.d")
}

// Setting names a managed setting and where its value comes from.
type Setting struct {
	Key  string `json:"key"`
	From string `json:"from"` // "FILE:LINE" or a registry key and value name
}

// layer is one source of settings: the file, a drop-in or the policy.
type layer struct {
	raw   map[string]any
	where func(key string) (file string, line int)
}

// fileLayer parses a TOML file's content into a layer.
func fileLayer(name string, data []byte) (layer, []Problem) {
	data = []byte(strings.TrimPrefix(string(data), "\xef\xbb\xbf")) // Notepad's BOM
	raw := map[string]any{}
	if err := decodeRaw(data, &raw); err != nil {
		return layer{}, []Problem{err.at(name)}
	}
	lines := keyLines(string(data))
	return layer{raw: raw, where: func(key string) (string, int) { return name, lines[key] }}, nil
}

// dropInLayers reads the *.toml files of dir in name order. A missing
// folder is none; a folder or file others may change is refused like the
// configuration file.
func dropInLayers(dir string) ([]layer, []Problem) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	untrusted := func(path string, err error) []Problem {
		return []Problem{{File: path, Msg: fmt.Sprintf("%v; only its owner (or the administrator) may be able to change it (Linux: chmod 755 for the folder, 644 for the files, owned by root)", err)}}
	}
	if err != nil {
		return nil, []Problem{{File: dir, Msg: err.Error()}}
	}
	if err := fileperm.CheckTrusted(dir); err != nil {
		return nil, untrusted(dir, err)
	}
	var layers []layer
	var probs []Problem
	for _, e := range entries { // os.ReadDir sorts by name
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil {
			probs = append(probs, Problem{File: path, Msg: err.Error()})
			continue
		}
		if !fi.Mode().IsRegular() || fi.Size() > MaxBytes {
			probs = append(probs, Problem{File: path, Msg: fmt.Sprintf("not a configuration file: a regular file of at most %d KB is expected", MaxBytes>>10)})
			continue
		}
		if err := fileperm.CheckTrusted(path); err != nil {
			probs = append(probs, untrusted(path, err)...)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			probs = append(probs, Problem{File: path, Msg: err.Error()})
			continue
		}
		l, p := fileLayer(path, data)
		if p != nil {
			probs = append(probs, p...)
			continue
		}
		layers = append(layers, l)
	}
	return layers, probs
}

// managedLayers returns the sources that override the file at path, in the
// order they apply.
func managedLayers(path string) ([]layer, []Problem) {
	layers, probs := dropInLayers(DropInDir(path))
	l, p := policyLayers(DropInDir(path))
	return append(layers, l...), append(probs, p...)
}

// merge lays src over dst (tables merged, other values replaced), calling
// set with each dotted key that src sets.
func merge(dst, src map[string]any, prefix string, set func(key string)) {
	for k, v := range src {
		if m, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, m, prefix+k+".", set)
				continue
			}
		}
		dst[k] = v
		leaves(v, prefix+k, set)
	}
}

// leaves calls set for each non-table key under v.
func leaves(v any, key string, set func(string)) {
	m, ok := v.(map[string]any)
	if !ok {
		set(key)
		return
	}
	for k, e := range m {
		leaves(e, key+"."+k, set)
	}
}

// coerceDWORDs turns the integers 0 and 1 into booleans where t has a
// boolean (the registry has no boolean type: policy uses REG_DWORD).
func coerceDWORDs(raw map[string]any, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		switch v := raw[tag].(type) {
		case int64:
			if f.Type.Kind() == reflect.Bool && (v == 0 || v == 1) {
				raw[tag] = v == 1
			}
		case map[string]any:
			switch f.Type.Kind() {
			case reflect.Struct:
				coerceDWORDs(v, f.Type)
			case reflect.Map:
				for _, e := range v {
					if m, ok := e.(map[string]any); ok && f.Type.Elem().Kind() == reflect.Struct {
						coerceDWORDs(m, f.Type.Elem())
					}
				}
			}
		}
	}
}

// Managed lists the settings that managed sources set, by key.
func (c *Config) Managed() []Setting {
	var s []Setting
	for k, w := range c.managed {
		from := w.file
		if w.line > 0 {
			from = fmt.Sprintf("%s:%d", w.file, w.line)
		}
		s = append(s, Setting{Key: k, From: from})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Key < s[j].Key })
	return s
}

// Problem returns a problem with key, located where the key was set (the
// configuration file's line, or the managed source that set it).
func (c *Config) Problem(key, format string, args ...any) Problem {
	file, line := c.where(key)
	return Problem{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) where(key string) (string, int) {
	if w, ok := c.managed[key]; ok {
		return w.file, w.line
	}
	return c.File, c.lines[key]
}

type location struct {
	file string
	line int
}
