// Command minio-admin creates (or updates) one MinIO user with one policy of its own, through
// MinIO's admin API (github.com/minio/madmin-go: the client `mc admin` uses). The local platform
// creates the user the operator mints each drift job's narrowed STS credentials as: its own
// policy (read, write only drift results) bounds whatever a session policy asks for, which the
// root user's would not.
//
// Usage: minio-admin ENDPOINT_URL USER POLICY_NAME < policy.json
//
// The root credentials come from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD and the new user's
// secret from MINIO_USER_SECRET (never on the command line). Running it again replaces the
// policy and the secret.
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/minio/madmin-go/v3"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: minio-admin ENDPOINT_URL USER POLICY_NAME < policy.json")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "minio-admin:", err)
		os.Exit(1)
	}
}

func run(endpoint, user, policyName string) error {
	parsed, err := url.Parse(endpoint)
	if err != nil || parsed.Host == "" {
		return fmt.Errorf("endpoint %q is not a URL", endpoint)
	}
	secret := os.Getenv("MINIO_USER_SECRET")
	if secret == "" {
		return fmt.Errorf("MINIO_USER_SECRET is not set")
	}
	policy, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fmt.Errorf("reading the policy: %w", err)
	}
	admin, err := madmin.New(
		parsed.Host, os.Getenv("MINIO_ROOT_USER"), os.Getenv("MINIO_ROOT_PASSWORD"),
		parsed.Scheme == "https",
	)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.AddCannedPolicy(ctx, policyName, policy); err != nil {
		return fmt.Errorf("adding policy %s: %w", policyName, err)
	}
	if err := admin.AddUser(ctx, user, secret); err != nil {
		return fmt.Errorf("adding user %s: %w", user, err)
	}
	// SetPolicy replaces the user's policies (AttachPolicy fails when already attached).
	if err := admin.SetPolicy(ctx, policyName, user, false); err != nil { //nolint:staticcheck
		return fmt.Errorf("attaching policy %s to %s: %w", policyName, user, err)
	}
	return nil
}
