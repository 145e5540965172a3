//go:build windows

package config

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// PolicyKey is where Group Policy puts mykey's managed settings, under
// HKEY_LOCAL_MACHINE: a value per key of the top table (lang), a subkey
// per table (wedge, revocation, profiles\counter) with a value per key.
// REG_SZ for strings, REG_DWORD for numbers and booleans (0 or 1),
// REG_MULTI_SZ for lists.
const PolicyKey = `Software\Policies\mykey`

// policyLayers returns the Group Policy values as the last layer.
func policyLayers(string) ([]layer, []Problem) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, PolicyKey, registry.READ)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []Problem{{File: `HKLM\` + PolicyKey, Msg: err.Error()}}
	}
	defer k.Close()
	raw := map[string]any{}
	from := map[string]string{}
	var probs []Problem
	readPolicy(k, `HKLM\`+PolicyKey, "", raw, from, &probs, 0)
	return []layer{{raw: raw, where: func(key string) (string, int) {
		if f, ok := from[key]; ok {
			return f, 0
		}
		return `HKLM\` + PolicyKey, 0
	}}}, probs
}

// readPolicy reads the values of k (at path, table prefix) into raw, and
// its subkeys as tables.
func readPolicy(k registry.Key, path, prefix string, raw map[string]any, from map[string]string, probs *[]Problem, depth int) {
	names, err := k.ReadValueNames(0)
	if err != nil {
		*probs = append(*probs, Problem{File: path, Msg: err.Error()})
		return
	}
	for _, n := range names {
		if n == "" {
			continue // the key's default value
		}
		key := strings.ToLower(n)
		where := path + ` (` + n + `)`
		from[prefix+key] = where
		_, typ, err := k.GetValue(n, nil)
		if err != nil {
			*probs = append(*probs, Problem{File: where, Key: prefix + key, Msg: err.Error()})
			continue
		}
		switch typ {
		case registry.SZ, registry.EXPAND_SZ:
			raw[key], _, err = k.GetStringValue(n)
		case registry.DWORD, registry.QWORD:
			var v uint64
			v, _, err = k.GetIntegerValue(n)
			raw[key] = int64(v)
		case registry.MULTI_SZ:
			var v []string
			v, _, err = k.GetStringsValue(n)
			a := make([]any, len(v))
			for i, s := range v {
				a[i] = s
			}
			raw[key] = a
		default:
			err = fmt.Errorf("registry type %d: use REG_SZ, REG_DWORD or REG_MULTI_SZ", typ)
		}
		if err != nil {
			*probs = append(*probs, Problem{File: where, Key: prefix + key, Msg: err.Error()})
		}
	}
	if depth >= 2 { // tables nest at most twice (profiles\NAME)
		return
	}
	subs, err := k.ReadSubKeyNames(0)
	if err != nil {
		*probs = append(*probs, Problem{File: path, Msg: err.Error()})
		return
	}
	for _, s := range subs {
		sk, err := registry.OpenKey(k, s, registry.READ)
		if err != nil {
			*probs = append(*probs, Problem{File: path + `\` + s, Msg: err.Error()})
			continue
		}
		t := map[string]any{}
		name := strings.ToLower(s)
		if depth == 1 {
			name = s // profile names keep their case
		}
		raw[name] = t
		readPolicy(sk, path+`\`+s, prefix+name+".", t, from, probs, depth+1)
		sk.Close()
	}
}
