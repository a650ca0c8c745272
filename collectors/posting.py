"""Posting a staff member's reply as the brand's account, with each platform's real client.

A :class:`Poster` has two methods: ``post(out)`` posts once and returns the platform's id and
link; ``find(out)`` answers, for a reply whose earlier attempt may have landed (the process died
mid-post, or the connection dropped after the request went out), whether it is already there —
the outbox asks it before posting again. What each platform allows:

* X (tweepy, user-context OAuth 1.0a): ``create_tweet(in_reply_to_tweet_id=...)``, DMs with
  ``create_direct_message(participant_id=...)``; look-up: the account's recent tweets (a reply
  to the same post with the same text), or the DM conversation's recent events.
* Reddit (praw, script app): ``reply`` on the comment or submission, ``message`` to the
  redditor; look-up: the account's newest comments (same parent and body), or its sent messages.
* Mastodon (Mastodon.py): ``status_post(in_reply_to_id=..., visibility=...)`` (``direct`` for a
  private message) with the reply's key as ``Idempotency-Key``: the server returns the first
  status for a repeated key (Mastodon keeps keys for an hour), so posting again *is* the look-up.
* Bluesky (atproto): ``send_post(reply_to=...)``; look-up: the account's newest post records
  (same parent, same text). Bluesky has no private message in this API: replies are public only.

The clients load inside the functions that use them. Failures become
:class:`~gripewatch.errors.NotifyError` (``retryable`` for 429, 5xx and network errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from gripewatch.config import ReplyConfig
from gripewatch.errors import NotifyError

PLATFORMS = ("x", "reddit", "mastodon", "bluesky")
PRIVATE = {"x": True, "reddit": True, "mastodon": True, "bluesky": False}


@dataclass(frozen=True)
class Outgoing:
    key: str  # the reply's idempotency key
    text: str
    public: bool
    in_reply_to: str  # the external id of the post answered
    author_key: str | None = None  # the customer's platform user id
    author_handle: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the answered post's raw payload


@dataclass(frozen=True)
class Posted:
    external_id: str | None  # a private message may have none (Reddit)
    url: str | None = None


class Poster(Protocol):
    def post(self, out: Outgoing) -> Posted:
        """Post ``out`` once as the brand; raise NotifyError if it failed."""

    def find(self, out: Outgoing) -> Posted | None:
        """``out`` as already posted by an earlier attempt, or None."""


def _secret(v: Any) -> str:
    return v.get_secret_value() if v is not None else ""


def can_reply(cfg: ReplyConfig) -> dict[str, str | None]:
    """Per platform: None when it can reply, else why not (no secret values in the reasons)."""
    need = {
        "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
        "reddit": ("client_id", "client_secret", "username", "password"),
        "mastodon": ("api_base_url", "access_token"),
        "bluesky": ("handle", "app_password"),
    }
    out: dict[str, str | None] = {}
    for platform, keys in need.items():
        section = getattr(cfg, platform)
        unset = [k for k in keys if not (getattr(section, k) and _secret_or_str(getattr(section, k)))]
        if not cfg.enabled:
            out[platform] = "reply.enabled is false"
        elif unset:
            out[platform] = "not configured: " + ", ".join(f"reply.{platform}.{k}" for k in unset)
        else:
            out[platform] = None
    return out


def _secret_or_str(v: Any) -> str:
    return v if isinstance(v, str) else _secret(v)


def poster_for(platform: str, cfg: ReplyConfig) -> Poster:
    """The poster of ``platform``; NotifyError (permanent) if it cannot reply."""
    why = can_reply(cfg).get(platform, f"gripewatch cannot post on {platform}")
    if why:
        raise NotifyError(f"{platform}: {why}", retryable=False)
    posters: dict[str, type[XPoster | RedditPoster | MastodonPoster | BlueskyPoster]] = {
        "x": XPoster,
        "reddit": RedditPoster,
        "mastodon": MastodonPoster,
        "bluesky": BlueskyPoster,
    }
    return posters[platform](cfg)


def _failure(platform: str, e: Exception, status: int | None, retry_after: float | None = None) -> NotifyError:
    retryable = status is None or status == 429 or status >= 500
    what = f"HTTP {status}" if status else e.__class__.__name__
    return NotifyError(f"{platform}: {what}: {str(e)[:200]}", retryable=retryable, retry_after=retry_after)


class XPoster:
    def __init__(self, cfg: ReplyConfig) -> None:
        import tweepy

        x = cfg.x
        self.client = tweepy.Client(
            consumer_key=_secret(x.consumer_key),
            consumer_secret=_secret(x.consumer_secret),
            access_token=_secret(x.access_token),
            access_token_secret=_secret(x.access_token_secret),
        )

    def _call(self, fn: Any, *a: Any, **kw: Any) -> Any:
        import requests
        import tweepy

        try:
            return fn(*a, user_auth=True, **kw)
        except tweepy.TooManyRequests as e:
            raise _failure("x", e, 429) from None
        except tweepy.HTTPException as e:
            raise _failure("x", e, e.response.status_code if e.response is not None else None) from None
        except requests.RequestException as e:
            raise _failure("x", e, None) from None

    def post(self, out: Outgoing) -> Posted:
        if not out.public:
            if not out.author_key:
                raise NotifyError("x: the customer's user id is unknown: no direct message", retryable=False)
            r = self._call(self.client.create_direct_message, participant_id=out.author_key, text=out.text)
            return Posted(str(r.data["dm_event_id"]), None)
        r = self._call(self.client.create_tweet, text=out.text, in_reply_to_tweet_id=out.in_reply_to)
        tid = str(r.data["id"])
        return Posted(tid, f"https://x.com/i/web/status/{tid}")

    def find(self, out: Outgoing) -> Posted | None:
        if not out.public:
            r = self._call(self.client.get_direct_message_events, participant_id=out.author_key, max_results=20)
            for ev in r.data or []:
                if (ev.text or "").strip() == out.text.strip():
                    return Posted(str(ev.id), None)
            return None
        me = self._call(self.client.get_me)
        r = self._call(self.client.get_users_tweets, me.data.id, max_results=20, tweet_fields=["referenced_tweets"])
        for t in r.data or []:
            refs = {(ref.type, str(ref.id)) for ref in (t.referenced_tweets or [])}
            if ("replied_to", out.in_reply_to) in refs and out.text.strip() in (t.text or ""):
                return Posted(str(t.id), f"https://x.com/i/web/status/{t.id}")
        return None


class RedditPoster:
    def __init__(self, cfg: ReplyConfig) -> None:
        import praw

        r = cfg.reddit
        self.reddit = praw.Reddit(
            client_id=_secret(r.client_id),
            client_secret=_secret(r.client_secret),
            username=r.username,
            password=_secret(r.password),
            user_agent=r.user_agent,
            check_for_updates=False,
        )

    def _call(self, fn: Any, *a: Any, **kw: Any) -> Any:
        import praw.exceptions
        import prawcore

        try:
            return fn(*a, **kw)
        except prawcore.exceptions.TooManyRequests as e:
            raise _failure("reddit", e, 429) from None
        except prawcore.exceptions.ResponseException as e:
            raise _failure("reddit", e, e.response.status_code) from None
        except prawcore.exceptions.RequestException as e:
            raise _failure("reddit", e, None) from None
        except praw.exceptions.RedditAPIException as e:
            raise _failure("reddit", e, 400) from None

    def _thing(self, fullname: str) -> Any:
        kind, _, rid = fullname.partition("_")
        return self.reddit.comment(rid) if kind == "t1" else self.reddit.submission(id=rid)

    def post(self, out: Outgoing) -> Posted:
        if not out.public:
            if not out.author_handle:
                raise NotifyError("reddit: the customer's username is unknown: no private message", retryable=False)
            to = self.reddit.redditor(out.author_handle)
            self._call(to.message, subject="About your post", message=out.text)
            return Posted(None, None)
        c = self._call(self._thing(out.in_reply_to).reply, out.text)
        link = c.__dict__.get("permalink")
        return Posted(f"t1_{c.id}", f"https://www.reddit.com{link}" if link else None)

    def find(self, out: Outgoing) -> Posted | None:
        if not out.public:
            for m in self._call(lambda: list(self.reddit.inbox.sent(limit=25))):
                if str(m.dest).lower() == (out.author_handle or "").lower() and m.body.strip() == out.text.strip():
                    return Posted(None, None)
            return None
        me = self._call(self.reddit.user.me)
        for c in self._call(lambda: list(me.comments.new(limit=25))):
            if c.parent_id == out.in_reply_to and c.body.strip() == out.text.strip():
                link = c.__dict__.get("permalink")
                return Posted(f"t1_{c.id}", f"https://www.reddit.com{link}" if link else None)
        return None


class MastodonPoster:
    def __init__(self, cfg: ReplyConfig) -> None:
        from mastodon import Mastodon

        self.client = Mastodon(access_token=_secret(cfg.mastodon.access_token), api_base_url=cfg.mastodon.api_base_url)

    def post(self, out: Outgoing) -> Posted:
        from mastodon import MastodonAPIError, MastodonNetworkError, MastodonRatelimitError

        text = out.text
        if not out.public and out.author_handle and f"@{out.author_handle}".lower() not in text.lower():
            text = f"@{out.author_handle} {text}"  # a direct status reaches the accounts it mentions
        try:
            st = self.client.status_post(
                text,
                in_reply_to_id=out.in_reply_to,
                visibility="public" if out.public else "direct",
                idempotency_key=out.key,
            )
        except MastodonRatelimitError as e:
            raise _failure("mastodon", e, 429) from None
        except MastodonNetworkError as e:
            raise _failure("mastodon", e, None) from None
        except MastodonAPIError as e:
            status = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else 400
            raise _failure("mastodon", e, status) from None
        return Posted(str(st["id"]), st.get("url"))

    def find(self, out: Outgoing) -> Posted | None:
        return None  # posting again with the same Idempotency-Key returns the status already posted


class BlueskyPoster:
    def __init__(self, cfg: ReplyConfig) -> None:
        from atproto import Client

        self.cfg = cfg.bluesky
        self.client = Client(base_url=self.cfg.base_url)
        self.did: str | None = None

    def _call(self, fn: Any, *a: Any, **kw: Any) -> Any:
        from atproto_client.exceptions import NetworkError, RequestErrorBase

        try:
            if self.did is None:
                self.client.login(self.cfg.handle, _secret(self.cfg.app_password), fetch_bsky_profile=False)
                session = self.client._session  # the DID of the account logged in (no profile fetch)
                self.did = session.did if session is not None else self.cfg.handle
            return fn(*a, **kw)
        except NetworkError as e:
            raise _failure("bluesky", e, None) from None
        except RequestErrorBase as e:
            raise _failure("bluesky", e, e.response.status_code if e.response is not None else 400) from None

    def _url(self, uri: str) -> str:
        return f"https://bsky.app/profile/{self.cfg.handle}/post/{uri.rsplit('/', 1)[-1]}"

    def post(self, out: Outgoing) -> Posted:
        from atproto import models

        if not out.public:
            raise NotifyError("bluesky: no private messages: reply publicly", retryable=False)
        parent = {"uri": out.in_reply_to, "cid": out.raw.get("cid", "")}
        root = ((out.raw.get("record") or {}).get("reply") or {}).get("root") or parent
        ref = models.AppBskyFeedPost.ReplyRef(
            parent=models.ComAtprotoRepoStrongRef.Main(**parent), root=models.ComAtprotoRepoStrongRef.Main(**root)
        )
        r = self._call(lambda: self.client.send_post(text=out.text, reply_to=ref, profile_identify=self.did))
        return Posted(r.uri, self._url(r.uri))

    def find(self, out: Outgoing) -> Posted | None:
        def recent() -> Any:
            params = {"repo": self.did, "collection": "app.bsky.feed.post", "limit": 25}
            return self.client.com.atproto.repo.list_records(params)

        for rec in self._call(recent).records:
            value = rec.value
            reply = getattr(value, "reply", None)
            if reply is not None and reply.parent.uri == out.in_reply_to and value.text == out.text:
                return Posted(rec.uri, self._url(rec.uri))
        return None
