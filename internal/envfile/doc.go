// Package envfile reads and edits an infra repository's environment files
// (envs/<env>.json: which version of each app runs where) without disturbing
// their formatting, so a version bump is a one-line diff in review.
//
// # Files
//
// An environment file is UTF-8 JSON (no byte order mark) whose top-level
// value is an object, at most DefaultMaxSize bytes unless a caller says
// otherwise and MaxDepth levels deep, with no duplicate keys at any level: gjson and sjson silently
// pick one of two duplicates, so a file that has them could deploy a version
// nobody reviewed. Validate checks all of this and reports the line and
// column of the first problem as a *SyntaxError.
//
// # Key paths
//
// A key path names a value through nested objects: "api.tag",
// "services.api.image.tag". Segments are separated by '.'; inside a segment
// "\." is a literal dot and "\\" a literal backslash, so the key "my.app" is
// written "my\.app.tag". No other escape exists. Paths never index arrays:
// a segment "0" is the object key "0".
//
// Segments must not contain the characters gjson and sjson give meaning to,
// even escaped: * ? # @ | ! ( ) [ ] { } = < > % ' " — nor control
// characters; empty segments (leading, trailing or doubled dots) are errors,
// and a path is at most MaxPathLength bytes. Path.GJSON gives the escaped
// form gjson and sjson expect.
//
// # Tracked patterns
//
// A pattern selects the keys that hold versions. It is a key path whose
// segments may also be "*" (exactly one key, any name) or "**" (any number
// of keys, including none); wildcards are whole segments only, and the last
// segment must not be "**". DefaultTracked is "**.tag": every key named
// "tag", at any depth. Values inside arrays are never tracked.
//
// # Key kinds
//
// Tracked keys are of two kinds (KindOf). A version key ("api.tag") holds a
// commit SHA, which is ordered and checked for reachability. A digest key
// ("api.digest": the key named "digest" beside a "tag") holds the image
// digest the tag was published as, "sha256:" and 64 hex digits (ValidDigest):
// a tag can be moved in a registry, a digest cannot. The digest beside a
// tracked tag is tracked with it, whatever the patterns say, so the default
// tracked set is "**.tag" plus each tag's digest and a custom pattern
// carries its digests too; a pattern may also name digest keys itself. A
// digest is never ordered on its own: it moves with its tag.
//
// # Editing
//
// Set changes string values through sjson, which splices the new string
// into the original bytes, and then proves it: the output is validated
// again, every edited path reads back its new value, every other value is
// byte-for-byte unchanged, and nothing outside the edited value moved.
// Keys created with SetOptions.CreateMissing are inserted in the indentation
// and line-ending style of the object that receives them.
package envfile
