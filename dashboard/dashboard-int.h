/*
 * dashboard-int.h - what serve.c and the generated assets.c share.
 */
#ifndef STRATA_DASHBOARD_INT_H
#define STRATA_DASHBOARD_INT_H

#include "dashboard.h"

/* The table embed.py generates (assets.c), ended by a NULL path. */
extern const strata_dashboard_asset strata_dashboard__assets[];

#endif
