package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/postgres"
	"github.com/openkyc/kyc/verification"
)

// Open a store in its own schema of the application's database and run the
// verification engine on it. Every replica of the application does the
// same; the first one to start creates the schema.
func ExampleOpen() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Options{Schema: "kyc"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ladder, err := levels.LoadFile("ladder.json")
	if err != nil {
		log.Fatal(err)
	}
	svc, err := verification.New(ladder, store, verification.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_ = svc // mount it with httpadapter
}

// A host that already has a pool shares it: the store qualifies its names
// with its schema and leaves the pool's sessions as they were.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store, err := postgres.New(ctx, pool, postgres.Options{Schema: "kyc"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // does not close pool
}
