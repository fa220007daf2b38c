// Package callbill holds the domain of a cloud call-center billing system:
// accounts, instances and numbers, the price book, the rating rules that turn a
// call detail record into charges, voice packages, contract discounts and the
// rules that close a monthly bill. docs/rules.md states every rule in words,
// with worked examples, and comments throughout cite it by page and heading:
// (docs/rules.md, "Call minutes"). docs/design.md is the specification the
// rules come from.
//
// It knows no database and no HTTP: adapters in sub-packages (sqlstore, cdr,
// world, cmd/callbill) depend on it, never the other way round.
package callbill
