"""Shared memory for stock 1C:Retail shops through its "discount server" protocol: the sales,
bonus and coupon rows each shop posts, and the answers computed from them (cumulative sums, last
purchase, bonus balances, coupon states). Dates stay 1C wall-clock times, as sent."""
