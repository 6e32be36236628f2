"""native/journal/ against journals a real librbd wrote and reads.

The decoder: the entries our parser finds in the journal's data objects
are, in replay order, exactly the entries `rbd journal export` reads through
libjournal (same tags, same payload bytes, same event types), and the events
decode to the operations that were run. The header: a client registered by
us is one librbd and the rbd CLI accept (mirroring can be disabled with it
there), its commits are seen, and unregistering takes it away."""
import base64
import itertools
import json
import struct
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import rados

from replication import Client
from sandbox import Images

# These tests step the native code themselves: site-b's module stays off their pool.
pytestmark = pytest.mark.usefixtures('replayer_off_pool_rbd')

MiB = 1 << 20
CLIENT = b'decoder-test'


def encoded(b: bytes) -> bytes:
    return struct.pack('<I', len(b)) + b


# librbd's ClientData for a CLI client (type 2, no fields): decodable, so
# that librbd accepts the record; registered before any write so that the
# journal keeps every entry (an empty commit position holds trimming back).
CLI_CLIENT_DATA = bytes([2, 1, 4, 0, 0, 0, 2, 0, 0, 0])


def journaled_image(images: Images, name: str, *journal_options: str) -> str:
    spec = images.spec(name)
    images.site.rbd('create', '--size', '64M', '--image-feature', 'layering,exclusive-lock,journaling',
                    *journal_options, spec)
    images.created.append(spec)
    return spec


def entries_in_objects(native, ioctx: rados.Ioctx, image_id: str) -> List[Dict]:
    """Every entry of every data object of the journal, in replay order."""
    prefix = f'journal_data.{ioctx.get_pool_id()}.{image_id}.'
    entries = []
    for obj in ioctx.list_objects():
        if obj.key.startswith(prefix):
            data = ioctx.read(obj.key, 64 * MiB)
            parsed = native.testing.parse_journal_object(data)
            assert not parsed['incomplete_tail'] and parsed['end'] == len(data), (obj.key, parsed['end'], len(data))
            entries += parsed['entries']
    return sorted(entries, key=lambda e: (e['tag_tid'], e['entry_tid']))


def exported(images: Images, name: str, path: Path) -> List[Tuple[int, int, bytes]]:
    images.site.rbd('journal', 'export', '--pool', images.pool, '--namespace', images.namespace, '--image', name,
                    '--path', str(path))
    lines = path.read_text().splitlines()
    assert lines[0].startswith('# journal_id: ')
    out = []
    for line in lines[1:]:
        length, text = line.split(' ', 1)
        assert int(length) == len(text)
        record = json.loads(text)
        out.append((record['tag_id'], record['type'], base64.b64decode(record['entry'])))
    return out


def test_entries_written_by_librbd_match_rbd_journal_export(native, images: Images, tmp_path: Path) -> None:
    journaled_image(images, 'journaled')
    client = Client(images.site, images.namespace)
    try:
        with client.image('journaled') as image:
            image_id = image.id()
        header = f'journal.{image_id}'
        client.ioctx.execute(header, 'journal', 'client_register', encoded(CLIENT) + encoded(CLI_CLIENT_DATA))
        try:
            big = bytes(range(256)) * 160          # 40 KiB: librbd splits it into several events
            with client.image('journaled') as image:
                image.write(big, 4096)
                image.write(b'tail', 8 * MiB - 4)
                image.discard(MiB, 64 * 1024)
                image.write_zeroes(2 * MiB, 128 * 1024)
                image.create_snap('daily')
                image.protect_snap('daily')
                image.unprotect_snap('daily')
                image.rename_snap('daily', 'weekly')
                image.resize(32 * MiB)
                image.metadata_set('conf_rbd_cache', 'false')
                image.metadata_remove('conf_rbd_cache')
                image.remove_snap('weekly')
                image.flush()

            ours = entries_in_objects(native, client.ioctx, image_id)
            theirs = exported(images, 'journaled', tmp_path / 'export.txt')
            assert len(ours) == len(theirs) > 10
            events = []
            for entry, (tag, event_type, payload) in zip(ours, theirs):
                assert entry['tag_tid'] == tag
                assert entry['payload'] == payload, (entry['tag_tid'], entry['entry_tid'])
                event = native.testing.decode_journal_event(entry['payload'])
                assert event['type'] == event_type, event
                assert event['timestamp'] is not None
                events.append(event)
        finally:
            client.ioctx.execute(header, 'journal', 'client_unregister', encoded(CLIENT))
    finally:
        client.close()

    # The operations, as the events carry them.
    by_type: Dict[str, List[Dict]] = {}
    for event in events:
        by_type.setdefault(event['type_name'], []).append(event)
    written = {}
    for w in by_type['AioWrite']:
        assert w['length'] == len(w['data'])
        for i in range(w['length']):
            written[w['offset'] + i] = w['data'][i]
    assert bytes(written[4096 + i] for i in range(len(big))) == big
    assert bytes(written[8 * MiB - 4 + i] for i in range(4)) == b'tail'
    discards = [(d['offset'], d['length']) for d in by_type['AioDiscard']]
    assert (MiB, 64 * 1024) in discards
    assert [(z['offset'], z['length']) for z in by_type.get('AioWriteSame', [])] == [(2 * MiB, 128 * 1024)] \
        or (2 * MiB, 128 * 1024) in discards   # write-zeroes: a zeroing write-same, or a discard
    assert [s['snap_name'] for s in by_type['SnapCreate']] == ['daily']
    assert [s['snap_name'] for s in by_type['SnapProtect']] == ['daily']
    assert [s['snap_name'] for s in by_type['SnapUnprotect']] == ['daily']
    assert [(r['src_snap_name'], r['dst_snap_name']) for r in by_type['SnapRename']] == [('daily', 'weekly')]
    assert [s['snap_name'] for s in by_type['SnapRemove']] == ['weekly']
    assert [r['size'] for r in by_type['Resize']] == [32 * MiB]
    assert [(m['key'], m['value']) for m in by_type['MetadataSet']] == [('conf_rbd_cache', 'false')]
    assert [m['key'] for m in by_type['MetadataRemove']] == ['conf_rbd_cache']
    ops = [e for e in events if 'op_tid' in e and e['type_name'] != 'OpFinish']
    finished = {(f['op_tid'], f['result']) for f in by_type['OpFinish']}
    assert all((op['op_tid'], 0) in finished for op in ops), (ops, finished)
    assert by_type['AioFlush']


def rbd_journal_status(images: Images, name: str) -> Dict:
    return json.loads(images.site.rbd('journal', 'status', '--pool', images.pool, '--namespace', images.namespace,
                                      '--image', name, '--format', 'json').stdout)


def test_a_registered_mirror_peer_is_a_client_librbd_accepts(native, images: Images) -> None:
    spec = journaled_image(images, 'registered')
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    cluster = native.Cluster.connect(str(images.site.conf))
    header = native.testing.JournalHeader(cluster, images.pool, images.namespace, 'registered')
    state = header.state()
    assert (state['order'], state['splay_width'], state['pool_id']) == (24, 4, -1)
    assert state['minimum_set'] == 0 and state['active_set'] == 0
    own = [c for c in state['clients'] if c['id'] == '']
    assert own and own[0]['data']['type'] == 0, state['clients']   # librbd's own client: ImageClientMeta
    assert header.data_object_name(5) == f'journal_data.{rados_pool_id(images)}.{image_id(images, "registered")}.5'

    header.register_mirror_peer('replayer-test', 'local-image-id')
    with pytest.raises(OSError) as again:
        header.register_mirror_peer('replayer-test', 'local-image-id')
    assert again.value.errno == 17 and "client 'replayer-test' is registered already" in str(again.value)
    mine = header.client('replayer-test')
    assert mine['data'] == {'type': 1, 'tag_class': 0, 'image_id': 'local-image-id', 'mirror_peer_state': 1}
    assert mine['state'] == 'connected'
    listed = {c['id']: c for c in rbd_journal_status(images, 'registered')['registered_clients']}
    assert 'replayer-test' in listed and listed['replayer-test']['state'] == 'connected'

    # A write makes a tag and entries; a commit of its position is what the CLI reads back.
    client = Client(images.site, images.namespace)
    try:
        with client.image('registered') as image:
            image.write(b'x' * 4096, 0)
    finally:
        client.close()
    tags = header.tags('replayer-test')
    assert tags and tags[-1]['mirror_uuid'] == '', tags    # the local primary owns the journal
    header.commit('replayer-test', [(0, tags[-1]['tid'], 0)])
    listed = {c['id']: c for c in rbd_journal_status(images, 'registered')['registered_clients']}
    assert listed['replayer-test']['commit_position']['object_positions'] == [
        {'object_number': 0, 'tag_tid': tags[-1]['tid'], 'entry_tid': 0}]

    # librbd decodes every client's data when mirroring is disabled, and
    # unregisters the mirror peers among them: ours is read as one.
    images.site.rbd('mirror', 'image', 'disable', spec)
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    header = native.testing.JournalHeader(cluster, images.pool, images.namespace, 'registered')
    assert 'replayer-test' not in {c['id'] for c in header.state()['clients']}
    header.register_mirror_peer('replayer-test', 'local-image-id')
    header.unregister('replayer-test')
    assert 'replayer-test' not in {c['id'] for c in rbd_journal_status(images, 'registered')['registered_clients']}
    with pytest.raises(OSError) as gone:
        header.unregister('replayer-test')
    assert gone.value.errno == 2


def test_the_reader_returns_what_a_client_has_not_committed_in_replay_order(native, images: Images,
                                                                            tmp_path: Path) -> None:
    # Small journal objects and two of them per set: the writes fill many sets.
    spec = journaled_image(images, 'read', '--journal-object-size', '64K', '--journal-splay-width', '2')
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    cluster = native.Cluster.connect(str(images.site.conf))
    header = native.testing.JournalHeader(cluster, images.pool, images.namespace, 'read')
    header.register_mirror_peer('reader-test', 'local-image-id')
    client = Client(images.site, images.namespace)
    try:
        with client.image('read') as image:
            for i in range(40):
                image.write(bytes([i]) * 20000, i * 65536)
            image.create_snap('s1')
            image.resize(48 * MiB)
        with client.image('read') as image:        # a second open: a new tag
            image.write(b'second owner', 0)

        first = header.read_uncommitted('reader-test')
        assert not first['waiting'] and first['skipped_stale'] == 0
        exported_entries = exported(images, 'read', tmp_path / 'export.txt')
        assert [(tag, payload) for tag, _, payload in exported_entries] == \
            [(tag, payload) for tag, _, _, payload in first['entries']]
        tags = {tag for tag, _, _, _ in first['entries']}
        assert len(tags) >= 2, tags
        assert max(obj for _, _, obj, _ in first['entries']) >= 8   # entries from several object sets

        header.commit('reader-test', first['position_after'])
        assert header.client('reader-test')['commit_position'] == first['position_after']
        assert header.read_uncommitted('reader-test')['entries'] == []

        with client.image('read') as image:
            image.write(b'after the commit', 4096)
        after = header.read_uncommitted('reader-test')
        writes = [native.testing.decode_journal_event(p) for _, _, _, p in after['entries']]
        assert [(w['offset'], w['data']) for w in writes if w['type_name'] == 'AioWrite'] == \
            [(4096, b'after the commit')]

        # Disconnected (as the primary does to a client too far behind): an
        # error saying so, never a read that waits on entries trimmed away.
        images.site.rbd('journal', 'client', 'disconnect', '--pool', images.pool, '--namespace', images.namespace,
                        '--image', 'read', '--client-id', 'reader-test')
        with pytest.raises(OSError) as stale:
            header.read_uncommitted('reader-test')
        assert stale.value.errno == 116 and 'was disconnected' in str(stale.value), stale.value
    finally:
        client.close()
        header.unregister('reader-test')


def test_garbage_client_data_is_what_librbd_refuses(native, images: Images) -> None:
    """The check above can fail: a client whose data librbd cannot decode
    makes `rbd mirror image disable` fail."""
    spec = journaled_image(images, 'garbage')
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    cluster = native.Cluster.connect(str(images.site.conf))
    header = native.testing.JournalHeader(cluster, images.pool, images.namespace, 'garbage')
    header.register('garbage-client', b'\xff\xff not client data')
    try:
        proc = images.site.rbd('mirror', 'image', 'disable', spec, check=False)
        assert proc.returncode != 0, proc.stdout
    finally:
        header.unregister('garbage-client')


def rados_pool_id(images: Images) -> int:
    client = Client(images.site, images.namespace)
    try:
        return client.ioctx.get_pool_id()
    finally:
        client.close()


def image_id(images: Images, name: str) -> str:
    client = Client(images.site, images.namespace)
    try:
        with client.image(name) as image:
            return image.id()
    finally:
        client.close()


def user_snapshots(client: Client, name: str) -> List[Tuple[str, bool, str]]:
    """(name, protected, digest) of each user snapshot, in creation order."""
    with client.image(name, read_only=True) as image:
        snaps = [(s['name'], image.is_protected_snap(s['name'])) for s in image.list_snaps()]
    return [(snap, protected, client.digest(name, snap_name=snap)) for snap, protected in snaps]


def metadata(client: Client, name: str) -> Dict[str, str]:
    with client.image(name, read_only=True) as image:
        return dict(image.metadata_list())


def replay_setup(native, images: Images, site_b, name: str, client_id: str, replica_features: str):
    """A journaled primary (64 KiB journal objects, splay width 2) with
    `client_id` registered as a mirror peer, and an empty replica of the same
    name on site-b: (journal header, site-b's cluster, primary, replica)."""
    spec = journaled_image(images, name, '--journal-object-size', '64K', '--journal-splay-width', '2')
    images.site.rbd('mirror', 'image', 'enable', spec, 'journal')
    cluster = native.Cluster.connect(str(images.site.conf))
    replica_cluster = native.Cluster.connect(str(site_b.conf))
    header = native.testing.JournalHeader(cluster, images.pool, images.namespace, name)
    header.register_mirror_peer(client_id, 'replica-id')
    site_b.rbd('namespace', 'create', f'{images.pool}/{images.namespace}', check=False)
    site_b.rbd('create', '--size', '64M', '--image-feature', replica_features,
               f'{images.pool}/{images.namespace}/{name}')
    return header, replica_cluster, Client(images.site, images.namespace), Client(site_b, images.namespace)


def test_replaying_the_journal_onto_a_replica_gives_the_primary_image(native, images: Images, site_b,
                                                                      tmp_path: Path) -> None:
    """Random writes, discards at a granularity the replica's own client
    does not use, write-zeroes, resizes both ways, snapshots created,
    renamed, protected, removed and rolled back to, metadata, and a second
    writer (a new tag), replayed in several passes onto an image of the
    other site with bounded reads (down to one object set per pass): HEAD,
    every snapshot and the metadata equal the primary's, and the client's
    commit position is at the end of the journal."""
    import random
    seed = random.randrange(1 << 30)
    print(f'seed {seed}')
    rng = random.Random(seed)
    header, replica_cluster, primary, replica = replay_setup(
        native, images, site_b, 'replay', 'replay-test', 'layering,exclusive-lock,object-map,fast-diff')
    spec = images.spec('replay')
    # Discards rounded to 16 KiB on the primary; the replica's clients round to 64 KiB.
    primary.cluster.conf_set('rbd_discard_granularity_bytes', '16384')
    passes = []

    budgets = iter([64 * MiB, 1, 200 * 1024, 64 * MiB])

    def replay() -> None:
        # Bounded reads, down to one object set (2 x 64 KiB objects) per pass.
        # Passes of one set each are cut to 12 (hundreds would be needed, each
        # ~1 s on a busy machine); the rest is read in one go.
        budget = next(budgets)
        for count in itertools.count():
            passes.append(header.replay_onto('replay-test', replica_cluster, images.pool, images.namespace,
                                             'replay', max_in_flight=rng.choice([1, 4, 16]), max_read_bytes=budget))
            assert passes[-1]['bytes_read'] <= budget + 2 * 2 * 128 * 1024, passes[-1]
            if not passes[-1]['read_more']:
                break
            if count == 12:
                budget = 64 * MiB

    def random_io(image, count: int) -> None:
        size = image.size()
        for _ in range(count):
            length = rng.choice([1, 512, 4096, 10000, 65536, 200000, 4 * MiB + 3])
            offset = rng.randrange(0, max(1, size - length))
            kind = rng.random()
            if kind < 0.6:
                image.write(bytes([rng.randrange(1, 256)]) * length, offset)
            elif kind < 0.85:
                image.discard(offset, length)
            else:
                image.write_zeroes(offset, length)

    try:
        with primary.image('replay') as image:
            image.write(b'\x5a' * (64 * MiB), 0)       # everything written: discards show
            random_io(image, 60)
            image.create_snap('s1')
            random_io(image, 30)
        replay()
        with primary.image('replay') as image:        # a second open: a new tag
            image.resize(40 * MiB + 12345)
            random_io(image, 20)
            image.rename_snap('s1', 's1-renamed')
            image.protect_snap('s1-renamed')
            image.create_snap('s2')
            image.metadata_set('conf_rbd_cache', 'false')
            image.metadata_set('user.key', 'v1')
            image.resize(72 * MiB)
            random_io(image, 20)
            image.create_snap('s3')
            image.metadata_remove('user.key')
            image.metadata_set('user.other', 'v2')
            random_io(image, 20)
        replay()
        with primary.image('replay') as image:
            image.unprotect_snap('s1-renamed')
            image.remove_snap('s2')
            random_io(image, 10)
        images.site.rbd('snap', 'rollback', f'{spec}@s3')   # librbd journals the rollback too
        with primary.image('replay') as image:
            random_io(image, 10)
        replay()
        replay()                                      # nothing left: a no-op

        assert passes[-1]['entries_read'] == 0, passes[-1]
        assert header.read_uncommitted('replay-test')['entries'] == []
        assert all(not p['waiting'] for p in passes), passes
        assert passes[-1]['entries_uncommitted'] == 0, passes[-1]
        assert sum(p['ops_applied'] for p in passes) >= 12, passes
        assert sum(p['discards'] for p in passes) > 0 and sum(p['bytes_discarded'] for p in passes) > 0, passes
        assert passes[0]['last_applied_time'] is not None

        assert replica.digest('replay') == primary.digest('replay')
        assert user_snapshots(replica, 'replay') == user_snapshots(primary, 'replay')
        assert [s[0] for s in user_snapshots(replica, 'replay')] == ['s1-renamed', 's3']
        assert metadata(replica, 'replay') == metadata(primary, 'replay')
    finally:
        primary.close()
        replica.close()
        header.unregister('replay-test')


def test_a_pass_holds_no_more_of_the_journal_than_the_memory_budget_leaves(native, images: Images, site_b) -> None:
    """The passes share the replayer's memory budget with every sync: with
    none of it left, a pass reads one object set (it must progress) and
    leaves the rest for the next; with room, it reads on; every byte it
    took is given back when it ends; the replica equals the primary."""
    header, replica_cluster, primary, replica = replay_setup(native, images, site_b, 'budget', 'budget-test',
                                                            'layering,exclusive-lock')
    one_set = 2 * 2 * 64 * 1024    # two objects, each up to twice its 64 KiB soft cap
    try:
        with primary.image('budget') as image:
            for i in range(48):
                image.write(bytes([i + 1]) * 48 * 1024, i * MiB)
        # Budget for exactly the first three sets: a pass reads those three
        # and stops (each set counted once: sets counted twice stopped at two).
        def stat(n: int) -> int:
            try:
                return primary.ioctx.stat(header.data_object_name(n))[0]
            except rados.ObjectNotFound:
                return 0
        sets = [stat(2 * k) + stat(2 * k + 1) for k in range(4)]
        assert all(sets), sets
        three = native.MemoryBudget(sum(sets[:3]))
        first = header.replay_onto('budget-test', replica_cluster, images.pool, images.namespace, 'budget',
                                   max_read_bytes=64 * MiB, budget=three)
        assert first['read_more'] and first['objects_read'] == 6 and first['bytes_read'] == sum(sets[:3]), \
            (first, sets)
        assert three.used() == 0
        exhausted = native.MemoryBudget(1)
        passes = []
        for _ in range(3):
            passes.append(header.replay_onto('budget-test', replica_cluster, images.pool, images.namespace,
                                             'budget', max_read_bytes=64 * MiB, budget=exhausted))
            assert exhausted.used() == 0, 'a pass kept bytes of the budget after it ended'
        for p in passes:
            assert p['read_more'] and 0 < p['bytes_read'] <= one_set and p['entries_committed'] > 0, passes
        roomy = native.MemoryBudget(256 * MiB)
        rest = header.replay_onto('budget-test', replica_cluster, images.pool, images.namespace, 'budget',
                                  max_read_bytes=64 * MiB, budget=roomy)
        assert roomy.used() == 0
        assert not rest['read_more'] and rest['bytes_read'] > 2 * one_set, rest
        assert header.read_uncommitted('budget-test')['entries'] == []
        assert replica.digest('budget') == primary.digest('budget')
    finally:
        primary.close()
        replica.close()
        header.unregister('budget-test')
