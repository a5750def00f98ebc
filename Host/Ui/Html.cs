using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Coffer.Ui;

/// <summary>
/// A piece of markup. Built only through <see cref="Of"/>, whose interpolated values are encoded unless
/// they are markup themselves, so a file name or a tag from a snapshot can never become markup.
/// </summary>
internal readonly record struct Html(string Markup)
{
    public static readonly Html Empty = new("");

    public static Html Of(HtmlInterpolation markup) => new(markup.Build());

    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(part => part.Markup)));

    public override string ToString() => Markup;
}

/// <summary>Builds <see cref="Html"/> from an interpolated string: literals as they are, values HTML-encoded.</summary>
[InterpolatedStringHandler]
internal ref struct HtmlInterpolation
{
    // Every script's letters as they are (names read as names in the page source); markup characters always encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly StringBuilder _builder;

    public HtmlInterpolation(int literalLength, int formattedCount) => _builder = new StringBuilder(literalLength + (formattedCount * 16));

    public readonly void AppendLiteral(string literal) => _builder.Append(literal);

    public readonly void AppendFormatted(Html markup) => _builder.Append(markup.Markup);

    public readonly void AppendFormatted(string? text) => _builder.Append(Encoder.Encode(text ?? ""));

    public readonly void AppendFormatted<T>(T value, string? format = null)
        where T : IFormattable => AppendFormatted(value.ToString(format, CultureInfo.InvariantCulture));

    public readonly string Build() => _builder.ToString();
}
