// Package envdiff plans a deployment from a push to the infra repository: it
// compares the environment files (envs/<env>.json) at the push's before and
// after commits value by value, for the tracked keys only, so a reformat or
// a change to a non-version key deploys nothing, and a version changed and
// changed back within one push deploys nothing either.
//
// Files are read through a Reader; gitread.Reader reads a local clone with the
// git CLI, and an API-backed Reader can replace it when the clone lacks a
// commit (Plan returns ErrMissingCommit then).
//
// Environments deploy in Config.Order (dev, staging, prod by default), then
// any others alphabetically. Matrix turns a Result into a strategy.matrix
// value for a deploy job.
//
// Per service: a service is a tracked key's parent path (api.tag → api,
// shop.web.tag → shop.web). ByService splits a plan into one entry per
// environment × changed service, and ConvergeServices compares each
// service with its own record; Matrix then adds "service" and "version".
package envdiff
