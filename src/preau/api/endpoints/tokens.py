"""Personal API tokens, as JSON: list, create (session only: a token never mints another), revoke."""

from __future__ import annotations

from ninja import Query, Router, Status

from .. import selectors, services
from ..auth import session_auth
from ..errors import BAD_REQUEST, FORBIDDEN, NOT_FOUND, api_error, responses
from ..schemas import PageParams, TokenCreated, TokenIn, TokenOut, TokenPage, paginate

router = Router(tags=["jetons"])


def token_out(token):
    return {"id": token.pk, "name": token.name, "prefix": token.display_prefix, "status": token.status,
            "created_at": token.created_at, "last_used_at": token.last_used_at, "expires_at": token.expires_at,
            "revoked_at": token.revoked_at}


@router.get("/tokens", response=responses(TokenPage), summary="Mes jetons d'API")
def list_tokens(request, page: Query[PageParams]):
    return paginate(selectors.api_tokens_of(actor=request.actor), page, token_out)


@router.post("/tokens", response=responses(TokenCreated, BAD_REQUEST, FORBIDDEN, status=201), auth=[session_auth],
             summary="Créer un jeton d'API (session seulement)")
def create_token(request, data: TokenIn):
    """The clear token is in the answer, and only there: it cannot be shown again."""
    try:
        token, clear = services.api_token_create(actor=request.actor, name=data.name,
                                                 expires_in_days=data.expires_in_days, request=request)
    except services.TokenError as exc:
        raise api_error(400, str(exc)) from None
    return Status(201, {**token_out(token), "token": clear})


@router.get("/tokens/{token_id}", response=responses(TokenOut, NOT_FOUND), summary="Un de mes jetons")
def get_token(request, token_id: int):
    return token_out(selectors.access_api_token(actor=request.actor, token_id=token_id))


@router.post("/tokens/{token_id}/revoke", response=responses(TokenOut, NOT_FOUND, FORBIDDEN),
             summary="Révoquer un de mes jetons")
def revoke_token(request, token_id: int):
    token = selectors.access_api_token(actor=request.actor, token_id=token_id)
    return token_out(services.api_token_revoke(actor=request.actor, token=token, request=request))
