import './review.css';
