package envdiff

import (
	"context"
	"errors"
	"fmt"
	"github.com/cicd-excellence/actions/internal/envfile"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// MaxServiceLength bounds a service name: it becomes an environment
// variable, a matrix value and part of a deployment's task.
const MaxServiceLength = 100

// serviceName is what a service may be called: key segments of letters,
// digits, '_' and '-', joined by single dots. Anything else (spaces, an
// escaped dot, shell or expression characters) could not be passed through
// a matrix, an environment variable and a deployment task unchanged.
var serviceName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// ValidService says why name is not a usable service name, or returns nil.
func ValidService(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case len(name) > MaxServiceLength:
		return fmt.Errorf("%s is %d bytes long; the limit is %d", strconv.Quote(name[:20]+"…"), len(name), MaxServiceLength)
	case !serviceName.MatchString(name):
		return fmt.Errorf("%s is not a service name (key names of letters, digits, '_' and '-', joined by single dots, as in api or shop.web)", strconv.Quote(name))
	}
	return nil
}

// ServiceError is a tracked key that names no usable service, so its file
// cannot be deployed per service.
type ServiceError struct {
	File, Key string
	Err       error
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("%s: tracked key %s: %v", e.File, e.Key, e.Err)
}
func (e *ServiceError) Unwrap() error { return e.Err }

// serviceOf is ServiceOf for a key of file, with the reason it names no
// usable service.
func serviceOf(file, key string) (string, error) {
	s, ok := ServiceOf(key)
	if !ok {
		return "", &ServiceError{File: file, Key: key, Err: errors.New("is not inside an object, so it names no service (a service is a key's parent: api.tag → api); nest it or deploy per environment")}
	}
	if err := ValidService(s); err != nil {
		return "", &ServiceError{File: file, Key: key, Err: fmt.Errorf("its service %w", err)}
	}
	return s, nil
}

// ServiceOf is the service a tracked key belongs to: the key's parent path
// (api.tag → api, shop.web.tag → shop.web). ok is false for a top-level
// key, which names no service. Keys are in envfile path syntax, where "\."
// is a literal dot inside a key.
func ServiceOf(key string) (service string, ok bool) {
	p, err := envfile.ParsePath(key)
	if err != nil {
		return "", false
	}
	parent, ok := p.Parent()
	if !ok {
		return "", false
	}
	return parent.String(), true
}

// ServiceVersion is a service's VERSION among its values: <service>.tag,
// else its only key's value; "" when neither says.
func ServiceVersion(service string, values map[string]string) string {
	if v, ok := values[service+".tag"]; ok {
		return v
	}
	if len(values) == 1 {
		for _, v := range values {
			return v
		}
	}
	return ""
}

// ServiceValues are the values of one service's keys.
func ServiceValues(values map[string]string, service string) map[string]string {
	out := map[string]string{}
	for k, v := range values {
		if s, ok := ServiceOf(k); ok && s == service {
			out[k] = v
		}
	}
	return out
}

// Services groups tracked values by service. Every key must name a usable
// service: a top-level key or a parent path that is not a service name is
// an error naming the key (file says where it is).
func Services(file string, values map[string]string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		s, err := serviceOf(file, k)
		if err != nil {
			return nil, err
		}
		if out[s] == nil {
			out[s] = map[string]string{}
		}
		out[s][k] = values[k]
	}
	return out, nil
}

// ByService splits a per-environment plan into one entry per environment ×
// changed service, in the same environment order and services sorted; each
// entry's Versions and Changes are that service's only. Deleted
// environments stay whole (they are reported, never deployed).
func ByService(res *Result) (*Result, error) {
	out := *res
	out.Environments = nil
	for _, e := range res.Environments {
		if e.Deleted {
			out.Environments = append(out.Environments, e)
			continue
		}
		groups, err := Services(e.File, e.Versions)
		if err != nil {
			return nil, err
		}
		changed := map[string][]Change{}
		for _, ch := range e.Changes {
			s, err := serviceOf(e.File, ch.Key)
			if err != nil {
				return nil, err
			}
			changed[s] = append(changed[s], ch)
		}
		for _, s := range slices.Sorted(maps.Keys(changed)) {
			vals := groups[s]
			if vals == nil {
				// Every key of the service was removed: nothing of it is
				// left to deploy, like a deleted environment file.
				out.Notes = append(out.Notes, fmt.Sprintf("%s: service %s has no tracked key left; not deployed", e.Environment, s))
				continue
			}
			out.Environments = append(out.Environments, EnvChange{
				Environment: e.Environment, Service: s, File: e.File, Versions: vals, Changes: changed[s], New: e.New,
			})
		}
	}
	out.Changed = slices.ContainsFunc(out.Environments, func(e EnvChange) bool { return !e.Deleted })
	return &out, nil
}

// DeployedService returns the versions of a service's keys its newest
// successful deployment in env recorded; ok is false when it was never
// deployed there.
type DeployedService func(ctx context.Context, env, service string) (versions map[string]string, ok bool, err error)

// ConvergeServices is Converge per service: for each environment file at
// commit and each service in it, the service's values are compared with
// what deployed says its last successful deployment recorded, and every
// (environment, service) that differs is returned, environments in
// deployment order and services sorted. A service no longer in a file is
// not planned: there is nothing of it left to deploy.
func ConvergeServices(ctx context.Context, r Reader, commit string, cfg Config, deployed DeployedService) (*Result, error) {
	return converge(ctx, r, commit, cfg, func(ctx context.Context, env, file string, want map[string]string) ([]EnvChange, error) {
		groups, err := Services(file, want)
		if err != nil {
			return nil, err
		}
		var out []EnvChange
		for _, s := range slices.Sorted(maps.Keys(groups)) {
			have, ok, err := deployed(ctx, env, s)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", env, s, err)
			}
			ec := EnvChange{Environment: env, Service: s, File: file, Versions: groups[s], New: !ok, Changes: changes(groups[s], have)}
			if len(ec.Changes) > 0 {
				out = append(out, ec)
			}
		}
		return out, nil
	})
}

// EnvironmentNames lists the environments of a plan's deployable entries,
// in order, each once (several services of one environment give it once).
func (res *Result) EnvironmentNames() []string {
	var envs []string
	for _, e := range res.Environments {
		if !e.Deleted && !slices.Contains(envs, e.Environment) {
			envs = append(envs, e.Environment)
		}
	}
	return envs
}

// Entries names the deployable entries in order, for logs: "dev/api" per
// service, "dev" per environment.
func (res *Result) Entries() []string {
	var out []string
	for _, e := range res.Environments {
		switch {
		case e.Deleted:
		case e.Service != "":
			out = append(out, e.Environment+"/"+e.Service)
		default:
			out = append(out, e.Environment)
		}
	}
	return out
}
