/*
 * watchers-int.h - declarations shared between the files of the watchers
 * module and nothing else.
 */
#ifndef STRATA_WATCHERS_INT_H
#define STRATA_WATCHERS_INT_H

#include "watchers.h"

/*
 * Checks that req carries cfg's secret in the way cfg->kind sends it
 * (webhook-auth.c). STRATA_EAUTH when it does not.
 */
int strata_watchers__webhook_verify(const strata_watchers_webhook_config *cfg,
                                    const strata_watchers_webhook_request *req,
                                    strata_error *err);

#endif
