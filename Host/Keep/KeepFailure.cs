namespace Coffer.Keep;

/// <summary>A request refused with one of keepstore's status codes and messages.</summary>
internal sealed class KeepFailure : Exception
{
    public KeepFailure()
        : this(StatusCodes500, "Fail")
    {
    }

    public KeepFailure(string message)
        : this(StatusCodes500, message)
    {
    }

    public KeepFailure(string message, Exception innerException)
        : base(message, innerException) => Status = StatusCodes500;

    public KeepFailure(int status, string message)
        : base(message) => Status = status;

    public int Status { get; }

    private const int StatusCodes500 = 500;

    // keepstore's errors (services/keepstore), with the status each answers.
    public static KeepFailure BadRequest => new(400, "Bad Request");

    public static KeepFailure Unauthorized => new(401, "Unauthorized");

    public static KeepFailure Expired => new(401, "Expired permission signature");

    public static KeepFailure Forbidden => new(403, "Forbidden");

    public static KeepFailure NotFound => new(404, "Not Found");

    public static KeepFailure MethodDisabled => new(405, "Method disabled");

    /// <summary>A request body that came too slowly (Go's status text: keepstore answers its generic errors so).</summary>
    public static KeepFailure RequestTimeout => new(408, "Request Timeout");

    public static KeepFailure SizeRequired => new(411, "Missing Content-Length");

    public static KeepFailure TooLong => new(413, "Block is too large");

    public static KeepFailure RequestHashMismatch => new(422, "Hash mismatch in request");

    public static KeepFailure Collision => new(500, "Collision");

    public static KeepFailure DiskHashMismatch => new(500, "Hash mismatch in stored data");

    public static KeepFailure Generic => new(500, "Fail");

    public static KeepFailure TooBusy => new(503, "Too many requests in progress");

    public static KeepFailure ClientDisconnected => new(503, "Client disconnected");

    public static KeepFailure Full => new(507, "Full");
}
