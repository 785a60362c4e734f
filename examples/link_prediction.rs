//! Train a VGAE, save its weights, load them into a fresh model and use the embeddings.
//!
//!     cargo run --release --example link_prediction               # embedded synthetic graph
//!     cargo run --release --example link_prediction -- datasets/planetoid cora

use gpu_vgae::internal::data::GraphView;
use gpu_vgae::internal::model::Weights;
use gpu_vgae::{synthetic_graph, train, GaeModel, Gpu, Graph, SyntheticSpec, TrainOptions};

fn main() -> Result<(), gpu_vgae::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let graph = match args.as_slice() {
        [dir, name] => gpu_vgae::load_planetoid(dir.as_ref(), name)?,
        _ => {
            let g = synthetic_graph(&SyntheticSpec::default())?;
            Graph::from_edges(g.num_nodes, &g.edges, Some(g.features))?
        }
    };

    let gpu = Gpu::from_env()?;
    println!("adapter: {}", gpu.report().name);
    let mut options = TrainOptions::default();
    options.epochs = 100;
    let trained = train(&gpu, graph.view(), &options, |e| {
        if let Some(val) = e.val {
            println!("epoch {:>3}: val AUC {:.3}", e.epoch, val.auc);
        }
    })?;
    println!("test: {:?}", trained.report.test);

    // Save the weights as JSON and load them into a new model on the same graph.
    let json = serde_json::to_string(&trained.model.weights()?).expect("weights serialize");
    let weights: Weights = serde_json::from_str(&json).expect("weights deserialize");
    let train_graph = GraphView::new(
        graph.num_nodes,
        &trained.split.train,
        graph.features.as_ref(),
    )?;
    let model = GaeModel::with_weights(&gpu, &options.model, train_graph, &weights)?;
    let mu = model.embeddings()?;
    let latent = options.model.latent;
    println!("embedding of node 0: {:?}", &mu[..latent]);
    let scores = model.score_pairs(&[(0, 1), (0, 2)])?;
    println!(
        "p(edge 0-1) = {:.3}, p(edge 0-2) = {:.3}",
        scores[0], scores[1]
    );
    Ok(())
}
