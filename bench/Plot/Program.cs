using System.Globalization;
using System.Text.Json;
using ScottPlot;

// bench/Plot POINTS.json FOLDER: one PNG per figure in POINTS (written by bench/run's scale scenario), each
// series a line through the medians with bars from the runs' minimum to maximum; coffer solid, restic dashed,
// one colour per operation so the two tools' lines of one operation pair up.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: bench/Plot POINTS.json FOLDER");
    return 2;
}

using var points = JsonDocument.Parse(File.ReadAllBytes(args[0]));
Directory.CreateDirectory(args[1]);
foreach (var figure in points.RootElement.EnumerateObject())
{
    var plot = new Plot();
    plot.Title(figure.Value.GetProperty("title").GetString());
    plot.XLabel(figure.Value.GetProperty("x").GetString()!);
    plot.YLabel(figure.Value.GetProperty("y").GetString()!);
    var operations = new List<string>();
    var top = 0.0;
    foreach (var series in figure.Value.GetProperty("series").EnumerateObject())
    {
        var (tool, operation) = (series.Name.Split(' ', 2)[0], series.Name.Split(' ', 2)[1]);
        if (!operations.Contains(operation))
        {
            operations.Add(operation);
        }

        var color = Colors.Category10[operations.IndexOf(operation) % Colors.Category10.Length];
        var at = series.Value.EnumerateArray().OrderBy(p => p.GetProperty("x").GetDouble()).ToArray();
        var xs = at.Select(p => p.GetProperty("x").GetDouble()).ToArray();
        var medians = at.Select(p => p.GetProperty("median").GetDouble()).ToArray();
        var line = plot.Add.Scatter(xs, medians, color);
        line.LegendText = series.Name;
        line.LinePattern = tool == "coffer" ? LinePattern.Solid : LinePattern.Dashed;
        line.MarkerShape = tool == "coffer" ? MarkerShape.FilledCircle : MarkerShape.OpenSquare;
        var bars = plot.Add.ErrorBar(xs, medians, at.Select((p, i) => medians[i] - p.GetProperty("min").GetDouble()).ToArray());
        bars.YErrorNegative = at.Select((p, i) => medians[i] - p.GetProperty("min").GetDouble()).ToArray();
        bars.YErrorPositive = at.Select((p, i) => p.GetProperty("max").GetDouble() - medians[i]).ToArray();
        bars.Color = color;
        top = Math.Max(top, at.Max(p => p.GetProperty("max").GetDouble()));
    }

    plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
    {
        LabelFormatter = x => x >= 1e6 ? (x / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M"
            : x >= 1e3 ? (x / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k"
            : x.ToString("0.#", CultureInfo.InvariantCulture),
    };
    // From zero, so a ratio reads off the heights; the legend beside the plot, where it hides no line.
    plot.Axes.AutoScale();
    plot.Axes.SetLimitsY(0, top * 1.08);
    plot.ShowLegend(Edge.Right);
    var file = Path.Combine(args[1], figure.Name + ".png");
    plot.SavePng(file, 1100, 520);
    Console.WriteLine(file);
}

return 0;
