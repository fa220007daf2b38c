// Package callbill holds the domain of a cloud call-center billing system:
// accounts, instances and numbers, the price book, the rating rules that turn a
// call detail record into charges, voice packages, contract discounts and the
// rules that close a monthly bill (DESIGN §2–§4). "DESIGN §N" in comments
// throughout is a section of docs/design.md, the specification.
//
// It knows no database and no HTTP: adapters in sub-packages (sqlstore, cdr,
// world, cmd/callbill) depend on it, never the other way round.
package callbill
