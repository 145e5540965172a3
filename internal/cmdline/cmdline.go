// Package cmdline is the small command-line machinery under mykey's CLI:
// commands named by one or two words, flags before, between and after the
// positional arguments, the check of positional arguments against a short
// spec, a flag's value found before parsing (to choose the language of the
// help), and the layout of help texts. It holds no mykey rule and no
// wording.
package cmdline

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Find returns the index in names of the command args start with (two
// words tried before one) and the arguments after its name; -1 when none.
func Find(names []string, args []string) (int, []string) {
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		if i := slices.Index(names, strings.Join(args[:n], " ")); i >= 0 {
			return i, args[n:]
		}
	}
	return -1, args
}

// Parse parses flags that may come before, between or after the positional
// arguments (cert check FILE --json) and returns the positional ones; "--"
// ends the flags.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// CheckArgs checks positional arguments against spec: "" for none, "FILE"
// for exactly one, "ID..." for one or more, "*" for any. extra is true when
// there are arguments where none belong; missing names what is wanted when
// there are too few or too many.
func CheckArgs(spec string, args []string) (extra bool, missing string) {
	many := strings.HasSuffix(spec, "...")
	switch {
	case spec == "*":
	case spec == "" && len(args) > 0:
		return true, ""
	case spec != "" && (len(args) == 0 || len(args) > 1 && !many):
		return false, strings.TrimSuffix(spec, "...")
	}
	return false, ""
}

// IsSet reports whether the flag name was given.
func IsSet(fs *flag.FlagSet, name string) (set bool) {
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Lookup finds the value of flag name (-name or --name, with =VALUE or as
// the next argument) anywhere in args, before they are parsed; the last
// one wins.
func Lookup(args []string, name string) (value string, ok bool) {
	for i, s := range args {
		rest, found := strings.CutPrefix(strings.TrimPrefix(s, "-"), "-"+name)
		if !found {
			continue
		}
		if v, eq := strings.CutPrefix(rest, "="); eq {
			value, ok = v, true
		} else if rest == "" && i+1 < len(args) {
			value, ok = args[i+1], true
		}
	}
	return value, ok
}

// WriteCommands lists commands (name → summary) in name order.
func WriteCommands(w io.Writer, summaries map[string]string) {
	names := make([]string, 0, len(summaries))
	for n := range summaries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, summaries[n])
	}
}

// WriteFlags lists the flags of fs as --name PLACEHOLDER and their usage.
func WriteFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		ph, usage := flag.UnquoteUsage(f)
		if ph != "" {
			name += " " + ph
		}
		fmt.Fprintf(w, "  %-22s %s\n", name, usage)
	})
}
