// Command mykey is the library desk utility: it reads the My Number Card's
// user-identification certificate, resolves it to a MyKey ID and a patron
// number, and types the number into the library system. This file holds the
// command framework; each group of commands has its own file.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/internal/cmdline"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitNotFound = 3
)

// defaultArgs, set at build time, are used when mykey is started without
// arguments: the Windows tray build (mykeyw.exe) sets it to "run".
var defaultArgs = ""

func main() {
	args := os.Args[1:]
	if len(args) == 0 && defaultArgs != "" {
		args = strings.Fields(defaultArgs)
	}
	os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
}

// run runs one invocation on the production devices.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(app.Devices{}, args, stdin, stdout, stderr)
}

// invocation is the state one invocation shares between its steps.
type invocation struct {
	stdin          io.Reader
	lines          *bufio.Reader // stdin's lines (PINs with --pin-stdin), made once
	stdout, stderr io.Writer
	lang           string // "ja" or "en"; "" until decided
	configPath     string
	configExplicit bool
	cfg            *config.Config
	json           bool
	pinStdin       bool         // register: the PIN comes from standard input
	interrupted    func() error // non-nil once a registry command runs: why it was interrupted, if it was
	mu             sync.Mutex   // serialises output from concurrent taps
	devices        app.Devices  // zero: the production devices
	core           *app.App     // opened by app()
	ctx            context.Context
}

// need is what a command needs opened before it runs.
type need int

const (
	needNothing  need = iota
	needCore          // the core, and a context that ends on Ctrl-C or SIGTERM
	needRegistry      // the same, and Ctrl-C means the registry change was rolled back
)

// command is one CLI command. setup defines its flags on fs and returns the
// function that runs it after parsing.
type command struct {
	name    string
	summary msg
	usage   string
	// args names the positional arguments: "" for none, "FILE" for exactly
	// one, "ID..." for one or more, "*" when the command checks them.
	args string
	// needs is what is opened before the command runs (a.core, a.ctx).
	needs    need
	desc     msg
	examples []string
	setup    func(a *invocation, fs *flag.FlagSet) func(args []string) int
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func findCommand(args []string) (*command, []string) {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	i, rest := cmdline.Find(names, args)
	if i < 0 {
		return nil, rest
	}
	return commands[i], rest
}

// runWith runs one invocation with these devices (tests hand it virtual
// ones) and returns the exit code.
func runWith(devices app.Devices, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &invocation{stdin: stdin, stdout: stdout, stderr: stderr, devices: devices}
	defer a.close()
	a.configPath = config.DefaultLocations().Config
	a.prescan(args)

	global := flag.NewFlagSet("mykey", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	a.commonFlags(global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.topUsage(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, a.t(mError)+err.Error())
		a.topUsage(stderr)
		return exitUsage
	}
	rest := global.Args()
	if len(rest) == 0 {
		a.topUsage(stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		if c, _ := findCommand(rest[1:]); c != nil {
			a.commandUsage(stdout, c, a.newFlagSet(c))
			return exitOK
		}
		a.topUsage(stdout)
		return exitOK
	}
	c, cargs := findCommand(rest)
	if c == nil {
		fmt.Fprintln(stderr, a.t(mError)+a.t(mUnknownCmd, strings.Join(rest, " ")))
		return exitUsage
	}
	fs := a.newFlagSet(c)
	runFn := c.setup(a, fs)
	positional, err := cmdline.Parse(fs, cargs)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.commandUsage(stdout, c, fs)
			return exitOK
		}
		fmt.Fprintln(stderr, a.t(mError)+err.Error())
		fmt.Fprintln(stderr, a.t(mUsage, c.usage))
		return exitUsage
	}
	if m := c.checkArgs(a, positional); m != "" {
		return a.usageError(c, m)
	}
	if c.needs != needNothing {
		if _, err := a.app(); err != nil {
			return a.fail(err, "")
		}
		var cancel context.CancelFunc
		if c.needs == needRegistry {
			a.ctx, cancel = a.registryContext()
		} else {
			a.ctx, cancel = signalContext()
		}
		defer cancel()
	}
	return runFn(positional)
}

// checkArgs says what is wrong with the positional arguments, if anything.
func (c *command) checkArgs(a *invocation, args []string) string {
	if extra, missing := cmdline.CheckArgs(c.args, args); extra {
		return a.t(mExtraArgs, args)
	} else if missing != "" {
		return a.t(mNeedFlag, missing)
	}
	return ""
}

func (a *invocation) newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.commonFlags(fs)
	return fs
}

// commonFlags are accepted before and after the command name.
func (a *invocation) commonFlags(fs *flag.FlagSet) {
	fs.Func("config", a.t(mFlagConfig, config.DefaultLocations().Config), func(s string) error {
		a.configPath, a.configExplicit = s, true
		return nil
	})
	fs.Func("lang", a.t(mFlagLang), func(s string) error {
		if s != "ja" && s != "en" {
			return fmt.Errorf("--lang: %q is not ja or en", s)
		}
		a.lang = s
		return nil
	})
}

// prescan picks the language before flags are parsed, so that help and
// errors are already in it: --lang, then MYKEY_LANG, then the configuration
// file's lang, then Japanese.
func (a *invocation) prescan(args []string) {
	lang := os.Getenv("MYKEY_LANG")
	if p, ok := cmdline.Lookup(args, "config"); ok {
		a.configPath, a.configExplicit = p, true
	}
	if l, ok := cmdline.Lookup(args, "lang"); ok {
		lang = l
	}
	if lang != "ja" && lang != "en" {
		lang = ""
		if c, err := config.Load(a.configPath, true); err == nil {
			lang = c.Lang
		}
	}
	if lang != "en" {
		lang = "ja"
	}
	a.lang = lang
}

func (a *invocation) topUsage(w io.Writer) {
	fmt.Fprint(w, a.t(mUsageTop))
	summaries := map[string]string{}
	for _, c := range commands {
		summaries[c.name] = a.t(c.summary)
	}
	cmdline.WriteCommands(w, summaries)
	fmt.Fprint(w, a.t(mUsageTail))
}

func (a *invocation) commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintln(w, a.t(mUsage, c.usage))
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.t(c.desc))
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.t(mOptions))
	cmdline.WriteFlags(w, fs)
	if len(c.examples) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, a.t(mExamples))
		for _, e := range c.examples {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// config loads the configuration once. Without --config a missing file means
// the defaults.
func (a *invocation) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	c, err := config.Load(a.configPath, !a.configExplicit)
	if err != nil {
		return nil, err
	}
	a.cfg = c
	return c, nil
}

// app opens the application core for the configuration, once.
func (a *invocation) app() (*app.App, error) {
	if a.core != nil {
		return a.core, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	d := a.devices
	if d.Output == nil {
		d.Output = a.stdout
	}
	a.core = app.New(c, d, app.OSUser())
	a.core.Notify = a.notice
	return a.core, nil
}

// notice words what the core tells while it works.
func (a *invocation) notice(n app.Notice) {
	switch n.Kind {
	case app.KeyCreated:
		fmt.Fprintln(a.stderr, a.t(mKeyCreated, n.Path))
	case app.HoldCard:
		fmt.Fprintln(a.stderr, a.t(mHoldCard))
	}
}

func (a *invocation) close() {
	if a.core != nil {
		a.core.Close()
	}
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// registryContext is the context of a registry command: Ctrl-C or
// SIGTERM cancels it, SQLite rolls back the transaction in progress and the
// failure is reported as an interruption. A second Ctrl-C ends the process
// at once.
func (a *invocation) registryContext() (context.Context, context.CancelFunc) {
	ctx, stop := signalContext()
	context.AfterFunc(ctx, stop)
	a.interrupted = ctx.Err
	return ctx, stop
}

func (a *invocation) printJSON(v any) { a.encode(v, "  ") }

// encode prints v as JSON (one line without indent: a stream of records,
// from concurrent taps).
func (a *invocation) encode(v any, indent string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", indent)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func (a *invocation) println(s string) { fmt.Fprintln(a.stdout, s) }

// usageError reports a usage mistake and returns exitUsage.
func (a *invocation) usageError(c *command, m string) int {
	fmt.Fprintln(a.stderr, a.t(mError)+m)
	fmt.Fprintln(a.stderr, a.t(mUsage, c.usage))
	return exitUsage
}
