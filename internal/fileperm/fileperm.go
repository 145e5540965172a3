// Package fileperm says whether a file mykey trusts (its configuration,
// the trust anchors it names, the pseudonym key) could have been written by
// someone else: such a file is refused, as a key file others can read is.
package fileperm

import "errors"

// ErrUntrusted means others can change the file.
var ErrUntrusted = errors.New("the file can be changed by other users")

// CheckTrusted returns an error wrapping ErrUntrusted when the file at path
// can be written by users other than its owner, or is owned by another
// user than the one running mykey (or the system administrator).
func CheckTrusted(path string) error { return checkTrusted(path) }

// RestrictToOwner makes a file that holds personal or secret data readable
// by its owner only where the mode does not say so: on Windows, a protected
// ACL for SYSTEM, the Administrators and the current user. On Unix it does
// nothing (create such files with mode 0600).
func RestrictToOwner(path string) error { return restrictToOwner(path) }
