/*
 * store_fixture.c - make a store for the CLI tests without the run engine:
 *   store_fixture PATH LABEL CHAINS SHARD NSHARDS [COMMAND_JSON]
 * adds the seeded retry chains SHARD, SHARD + NSHARDS, ... below CHAINS (store_util.h) to the
 * campaign LABEL of PATH (created if missing).  The chains depend only on their index, so the
 * shards of one campaign together hold exactly the runs of the unsharded one.
 */
#include "store_util.h"

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: store_fixture PATH LABEL CHAINS SHARD NSHARDS [COMMAND_JSON]\n");
        return 2;
    }
    fm_campaign_info c = su_campaign(argv[2], argc == 7 ? argv[6] : "[\"./t\"]");
    fm_store *s;
    int64_t id;
    bool existed;
    fm_store_status st = fm_store_open(argv[1], true, &s);
    if (st != FM_STORE_OK) {
        fprintf(stderr, "store_fixture: %s: %s\n", argv[1], fm_store_errmsg(NULL));
        return 1;
    }
    st = fm_store_campaign(s, &c, &id, &existed);
    if (st == FM_STORE_OK)
        st = su_add_chains(s, id, atoll(argv[4]), atoll(argv[3]), atoll(argv[5]), 2024, NULL);
    if (st != FM_STORE_OK)
        fprintf(stderr, "store_fixture: %s\n", fm_store_errmsg(s));
    fm_store_status closed = fm_store_close(s);
    return st == FM_STORE_OK && closed == FM_STORE_OK ? 0 : 1;
}
