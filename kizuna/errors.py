"""The one base of the refusals every domain module raises (NetworkError, PartnersError, MeetingError,
AccountError): pages and API endpoints catch it to show the message at the input it names."""


class DomainError(Exception):
    """A change the domain refuses; the message is for the user, and `field` names the input at fault
    (None: the change as a whole)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
