"""Gift certificates: series (nominal, validity, the goods item that sells them, redemption
scope, re-sale cycle, remainder policy, code format), the registry of certificates and the
documents that move them between accounting, stores and POS, the stock report and the POS
check. Sale and redemption at the till come with the receipts integration."""
