// Command local-github runs githubtest's local GitHub as a process, for
// demos and manual runs. The first line on stdout is
// LOCAL_GITHUB_URL=http://127.0.0.1:PORT; it serves until SIGINT/SIGTERM.
//
//	local-github -token ghs_demo=demo-bot:write -repo acme/app:main \
//	  -seed acme/app:README.md=./README.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/cicd-excellence/actions/internal/testkit/githubtest"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local-github:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done (main cancels it on SIGINT/SIGTERM).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local-github", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	dir := fs.String("dir", "", "directory for the bare repositories (default: a temporary one, removed on exit)")
	urlFile := fs.String("url-file", "", "also write the base URL to this file")
	var apps, tokens, repos, seeds multiFlag
	fs.Var(&apps, "app", "ID=SLUG: a GitHub App (bot user SLUG[bot]) (repeatable)")
	fs.Var(&tokens, "token", "TOKEN=LOGIN[:read|write|admin][:bypass], or an installation token TOKEN=app:ID[:PERM=LEVEL,...][:owner/name...] of an -app (repeatable; default access write). Without any -token, "+githubtest.DefaultToken+" is registered")
	fs.Var(&repos, "repo", "owner/name[:default_branch][:private] (repeatable)")
	fs.Var(&seeds, "seed", "owner/name[@branch]:path=localfile, committed in order (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := githubtest.Start(ctx, githubtest.Config{
		Addr: *addr, Dir: *dir, NoDefaultToken: len(tokens) > 0,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) },
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, a := range apps {
		if err := addApp(srv, a); err != nil {
			return err
		}
	}
	for _, t := range tokens {
		if err := addToken(srv, t); err != nil {
			return err
		}
	}
	for _, r := range repos {
		if err := addRepo(srv, r); err != nil {
			return err
		}
	}
	for _, sd := range seeds {
		if err := addSeed(srv, sd); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "LOCAL_GITHUB_URL=%s\n", srv.URL)
	fmt.Fprintf(stdout, "LOCAL_GITHUB_API_URL=%s\n", srv.APIURL())
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(srv.URL+"\n"), 0o644); err != nil {
			return fmt.Errorf("write -url-file: %w", err)
		}
	}
	<-ctx.Done()
	return nil
}

func addApp(srv *githubtest.Server, spec string) error {
	id, slug, ok := strings.Cut(spec, "=")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil {
		return fmt.Errorf("-app %q: want ID=SLUG with a numeric ID", spec)
	}
	if err := srv.AddApp(n, slug); err != nil {
		return fmt.Errorf("-app %q: %w", spec, err)
	}
	return nil
}

// addAppToken reads app:ID[:PERM=LEVEL,...][:owner/name...].
func addAppToken(srv *githubtest.Server, spec, value string, parts []string) error {
	if len(parts) < 2 {
		return fmt.Errorf("-token %q: want TOKEN=app:ID[:PERM=LEVEL,...][:owner/name...]", spec)
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return fmt.Errorf("-token %q: app ID %q is not a number", spec, parts[1])
	}
	perms := githubtest.Permissions{}
	var repos []string
	for _, p := range parts[2:] {
		if strings.Contains(p, "/") {
			repos = append(repos, p)
			continue
		}
		for _, kv := range strings.Split(p, ",") {
			name, level, ok := strings.Cut(kv, "=")
			a, err := githubtest.ParseAccess(level)
			if !ok || err != nil {
				return fmt.Errorf("-token %q: permission %q: want NAME=read|write", spec, kv)
			}
			perms[name] = a
		}
	}
	if err := srv.AddAppToken(value, id, perms, repos...); err != nil {
		return fmt.Errorf("-token %q: %w", spec, err)
	}
	return nil
}

func addToken(srv *githubtest.Server, spec string) error {
	value, rest, ok := strings.Cut(spec, "=")
	if !ok || value == "" || rest == "" {
		return fmt.Errorf("-token %q: want TOKEN=LOGIN[:access][:bypass]", spec)
	}
	parts := strings.Split(rest, ":")
	if parts[0] == "app" {
		return addAppToken(srv, spec, value, parts)
	}
	access, bypass := githubtest.Write, false
	for _, p := range parts[1:] {
		if p == "bypass" {
			bypass = true
			continue
		}
		a, err := githubtest.ParseAccess(p)
		if err != nil {
			return fmt.Errorf("-token %q: %w", spec, err)
		}
		access = a
	}
	srv.AddToken(value, parts[0], access)
	return srv.SetBypass(value, bypass)
}

func addRepo(srv *githubtest.Server, spec string) error {
	parts := strings.Split(spec, ":")
	owner, name, ok := strings.Cut(parts[0], "/")
	if !ok {
		return fmt.Errorf("-repo %q: want owner/name[:default_branch][:private]", spec)
	}
	cfg := githubtest.RepoConfig{Owner: owner, Name: name}
	for _, p := range parts[1:] {
		if p == "private" {
			cfg.Private = true
		} else if p != "" {
			cfg.DefaultBranch = p
		}
	}
	return srv.CreateRepo(cfg)
}

func addSeed(srv *githubtest.Server, spec string) error {
	repoPart, file, ok := strings.Cut(spec, ":")
	if !ok {
		return fmt.Errorf("-seed %q: want owner/name[@branch]:path=localfile", spec)
	}
	path, local, ok := strings.Cut(file, "=")
	if !ok || path == "" || local == "" {
		return fmt.Errorf("-seed %q: want owner/name[@branch]:path=localfile", spec)
	}
	repoPart, branch, _ := strings.Cut(repoPart, "@")
	owner, name, ok := strings.Cut(repoPart, "/")
	if !ok {
		return fmt.Errorf("-seed %q: want owner/name[@branch]:path=localfile", spec)
	}
	content, err := os.ReadFile(local)
	if err != nil {
		return fmt.Errorf("-seed %q: %w", spec, err)
	}
	if branch == "" {
		branch, err = defaultBranch(srv, owner, name)
		if err != nil {
			return fmt.Errorf("-seed %q: %w", spec, err)
		}
	}
	_, err = srv.CommitFiles(owner, name, branch, map[string]string{path: string(content)}, "Add "+path)
	return err
}

func defaultBranch(srv *githubtest.Server, owner, name string) (string, error) {
	b, ok := srv.DefaultBranch(owner, name)
	if !ok {
		return "", errors.New("unknown repository " + owner + "/" + name + " (declare it with -repo first)")
	}
	return b, nil
}
