"""An address is an address: typed, allowlisted or forwarded, a zone id or any other text is
refused (Python's ipaddress takes anything after `%` as an IPv6 zone id)."""

from __future__ import annotations

import pytest

from keytui.domain import InputError, parse_ip, parse_ip_allowlist
from keytui.gateway.clientip import client_ip, parse_address
from keytui.gateway.options import parse_trusted_proxies

NOT_ADDRESSES = ["2001:db8::9%\x1b]52;c;aGk=\x07", "fe80::1%eth0", "10.0.0.1 x", "10.0.\n0.1", "<10.0.0.1>", "::g"]


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_typed_addresses_with_a_zone_id_or_text_are_bad_input(text):
    with pytest.raises(InputError):
        parse_ip(text)
    assert parse_ip(" 10.0.0.1\n") == "10.0.0.1"  # surrounding space is trimmed, nothing more


def test_allowlists_refuse_zone_ids():
    with pytest.raises(InputError):
        parse_ip_allowlist(["fe80::1%eth0/64"])
    assert parse_ip_allowlist(["2001:db8::/32", "10.0.0.7"]) == ("2001:db8::/32", "10.0.0.7")


@pytest.mark.parametrize("hop, address", [("203.0.113.9:443", "203.0.113.9"), ("[2001:db8::1]:8443", "2001:db8::1"),
                                          ("[2001:db8::1]", "2001:db8::1"), ("::ffff:192.0.2.1", "192.0.2.1"),
                                          ("2001:db8::1", "2001:db8::1")])
def test_forwarded_hops_may_carry_a_port(hop, address):
    assert str(parse_address(hop)) == address


@pytest.mark.parametrize("hop", NOT_ADDRESSES + ["203.0.113.9:99999999", "[fe80::1%eth0]:80", "1.2.3.4:80:80"])
def test_forwarded_text_is_not_an_address(hop):
    assert parse_address(hop) is None
    proxies = parse_trusted_proxies(["127.0.0.1/32"])
    assert client_ip("127.0.0.1", f"{hop}", None, proxies) == "127.0.0.1"
